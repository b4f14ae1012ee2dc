"""Describe the Invoke task tree as data, for the generated reference page.

Everything here is read from the collections themselves (docstrings, ``help=``
texts, argument kinds and defaults), so the page cannot drift from the code.
"""

from __future__ import annotations

import inspect
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.entry import metavar
from ..core.render import FORMATS

SEVERITY_EXITS = [(0, "OK: nothing risky found"), (1, "WARN: a risk worth planning for"),
                  (2, "CRIT: data at risk now"),
                  (3, "UNKNOWN: could not look (unreachable target, bad input)")]
PLAIN_EXITS = [(0, "done"), (3, "error: one line on standard error naming the cause")]
INTERRUPTED = (130, "interrupted (Ctrl-C)")


@dataclass
class Option:
    flags: str
    kind: str
    default: str
    help: str
    positional: bool


@dataclass
class TaskInfo:
    name: str                     # dotted, as typed: mounts.audit
    summary: str
    body: str
    options: list[Option]
    formats: list[str]
    changes: bool                 # has --apply: dry run by default
    exits: list[tuple[int, str]]
    pages: list[str] = field(default_factory=list)   # docs pages that use it


@dataclass
class CollectionInfo:
    name: str
    summary: str
    tasks: list[TaskInfo]


def _flags(names: tuple[str, ...], kind: type) -> str:
    """``--timeout=SECONDS, -t``: the value type as `invoke --help` shows it."""
    long, *short = names
    value = metavar(long, kind)
    dashes = "-" if len(long) == 1 else "--"   # `-k STRING`, as Invoke spells it
    joint = " " if len(long) == 1 else "="
    parts = [f"{dashes}{long}" + (f"{joint}{value}" if value else "")] + [
        f"-{s}" for s in short if len(s) == 1]
    return ", ".join(parts)


def _default(arg: Any) -> str:
    if arg.kind is bool:
        return "off"
    if arg.default in (None, [], ""):
        return ""
    return str(arg.default)


def _option(arg: Any) -> Option:
    return Option(flags=_flags(arg.names, arg.kind), kind=arg.kind.__name__,
                  default=_default(arg), help=(arg.help or "").strip(),
                  positional=bool(arg.positional))


def _docstring(body: Any) -> tuple[str, str]:
    doc = inspect.getdoc(body) or ""
    summary, _, rest = doc.partition("\n")
    return summary.strip(), rest.strip()


def _module_summary(collection: Any) -> str:
    for task in collection.tasks.values():
        module = sys.modules.get(getattr(task.body, "__module__", ""))
        if module and module.__doc__:
            first = module.__doc__.strip().split("\n\n")[0].replace("\n", " ")
            # Module docstrings start "mounts: what it covers"; the heading names it already.
            first = re.sub(rf"^{re.escape(collection.name or '')}:\s*", "", first)
            return first[:1].upper() + first[1:]
    return ""


def _arguments(task: Any) -> list[Any]:
    """The task's arguments, leaving its help texts in place.

    Invoke's ``get_arguments`` pops each help text it uses, so a second call (the
    next build under `mkdocs serve`, or `invoke` itself) would find none.
    """
    saved = dict(task.help)
    try:
        return task.get_arguments()
    finally:
        task.help.update(saved)


def _task_info(dotted: str, task: Any) -> TaskInfo:
    summary, body = _docstring(task.body)
    arguments = _arguments(task)
    options = [_option(a) for a in arguments]
    attrs = {a.name.replace("-", "_") for a in arguments}
    is_check = "format" in attrs
    exits = (SEVERITY_EXITS if is_check else PLAIN_EXITS) + [INTERRUPTED]
    return TaskInfo(name=dotted, summary=summary, body=body, options=options,
                    formats=list(FORMATS) if is_check else [], changes="apply" in attrs,
                    exits=exits)


def describe(namespace: Any) -> list[CollectionInfo]:
    """Every collection and task of ``namespace``, sorted by name."""
    result = []
    for cname, col in sorted(namespace.collections.items()):
        tasks = [_task_info(f"{cname}.{tname}", t) for tname, t in sorted(col.tasks.items())]
        result.append(CollectionInfo(cname, _module_summary(col), tasks))
    top = [_task_info(tname, t) for tname, t in sorted(namespace.tasks.items())]
    if top:
        result.append(CollectionInfo("(top level)", "Project tasks.", top))
    return result


def link_pages(collections: list[CollectionInfo], docs_dir: Path, skip: set[Path]) -> None:
    """Fill ``pages`` of each task with the docs pages that run or name it."""
    texts = {p: p.read_text() for p in sorted(docs_dir.rglob("*.md")) if p not in skip}
    for col in collections:
        for task in col.tasks:
            pattern = re.compile(rf"(?<![\w.-]){re.escape(task.name)}(?![\w-])")
            task.pages = [p.relative_to(docs_dir).as_posix()
                          for p, text in texts.items() if pattern.search(text)]
