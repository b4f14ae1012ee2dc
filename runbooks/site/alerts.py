"""Prometheus alerting rules, generated from the findings the checks can raise.

:func:`scan` reads every ``Finding(...)`` call in ``runbooks/`` and works out
which check names, severities and pages it can produce: string constants,
module constants (imported, so ``RULES`` and ``WHY`` tables count), f-strings,
sums, conditional expressions (the same condition takes the same branch in
every argument of one call, so ``mfs.missing`` pairs with ``#missing``), local
variables (every value assigned to them) and ``for`` loops over module tables
(``for rule in RULES``: one finding per rule). What it cannot work out is
ANY: a severity computed at run time stands for WARN, CRIT and UNKNOWN; a
check name computed at run time is an error unless the call is listed in
:data:`NAMED_ELSEWHERE`, so a new kind of finding cannot slip past the rules.

:func:`alerts` makes one alert per check and severity on the series
``breaking_point_finding`` (runbooks/core/prometheus.py), with a
``runbook_url`` built by :func:`runbooks.core.findings.docs_url`; the site
build checks that every one of them opens its page and anchor
(:func:`missing_anchors`, called from the hooks).
"""

from __future__ import annotations

import ast
import importlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.findings import Severity, docs_url, site_path

PACKAGE = Path(__file__).resolve().parents[1]
TEMPLATE = "alert-rules.yml.j2"
RULES_FILE = "monitoring/breaking-point.rules.yml"
ANY = object()  # a value only known at run time
ALERTED = (Severity.WARN, Severity.CRIT, Severity.UNKNOWN)
# Calls whose check name is made at run time, and where their alert comes from.
NAMED_ELSEWHERE = {
    "runbooks/core/runner.py": "RUNBOOK.reach (could not reach a target): "
                               "the BreakingPointCheckBlind alert on check_success",
}
FINDING_FIELDS = ("check", "severity", "target", "subject", "message", "why", "page")


@dataclass(frozen=True)
class Emit:
    """One thing a Finding(...) call can produce."""

    check: str
    severity: Severity | None  # None: computed at run time
    page: str
    why: str
    source: str  # file:line of the call


@dataclass(frozen=True)
class Alert:
    """One alerting rule: check ``check`` at ``severity``."""

    name: str
    check: str
    severity: Severity
    page: str
    why: str
    sources: tuple[str, ...]

    @property
    def url(self) -> str:
        return docs_url(self.page)

    @property
    def label(self) -> str:
        """The severity label, as Alertmanager setups spell it."""
        return {Severity.WARN: "warning", Severity.CRIT: "critical",
                Severity.UNKNOWN: "unknown"}[self.severity]


Env = tuple[tuple[str, Any], ...]  # conditions taken and loop items bound, in order


class _Scope:
    """What names mean inside one function of one module."""

    def __init__(self, module: Any, function: ast.AST | None) -> None:
        self.module = module
        self.assigned: dict[str, list[ast.AST]] = {}
        self.loops: dict[str, ast.AST] = {}
        for node in ast.walk(function) if function is not None else ():
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    self._bind(target, node.value)
            elif isinstance(node, ast.AnnAssign | ast.AugAssign) and node.value is not None:
                self._bind(node.target, node.value)
            elif isinstance(node, ast.For) and isinstance(node.target, ast.Name):
                self.loops[node.target.id] = node.iter
            elif isinstance(node, ast.arg):
                self.assigned.setdefault(node.arg, []).append(ast.Constant(ANY))

    def _bind(self, target: ast.AST, value: ast.AST) -> None:
        if isinstance(target, ast.Name):
            self.assigned.setdefault(target.id, []).append(value)
        elif isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) \
                and len(target.elts) == len(value.elts):
            for t, v in zip(target.elts, value.elts, strict=True):
                self._bind(t, v)
        elif isinstance(target, ast.Tuple):
            for t in target.elts:
                self._bind(t, ast.Constant(ANY))


def _values(node: ast.AST, scope: _Scope, env: Env, depth: int = 0) -> Iterator[tuple[Any, Env]]:
    """Every value ``node`` can have, each with the choices that lead to it."""
    if depth > 12:
        yield ANY, env
    elif isinstance(node, ast.Constant):
        yield node.value, env
    elif isinstance(node, ast.Name):
        yield from _name(node.id, scope, env, depth)
    elif isinstance(node, ast.Attribute):
        for value, env2 in _values(node.value, scope, env, depth + 1):
            yield (ANY if value is ANY else getattr(value, node.attr, ANY)), env2
    elif isinstance(node, ast.Subscript):
        yield from _subscript(node, scope, env, depth)
    elif isinstance(node, ast.IfExp):
        yield from _choice(node, scope, env, depth)
    elif isinstance(node, ast.JoinedStr | ast.BinOp) and _parts(node) is not None:
        yield from _joined(_parts(node) or [], scope, env, depth)
    elif isinstance(node, ast.FormattedValue):
        yield from _values(node.value, scope, env, depth + 1)
    else:
        yield ANY, env


def _name(name: str, scope: _Scope, env: Env, depth: int) -> Iterator[tuple[Any, Env]]:
    bound = dict(env)
    key = f"loop:{name}"
    if key in bound:
        yield bound[key], env
    elif name in scope.loops:
        for items, env2 in _values(scope.loops[name], scope, env, depth + 1):
            if items is ANY or not isinstance(items, list | tuple):
                yield ANY, env2
                continue
            for item in items:
                yield item, (*env2, (key, item))
    elif name in scope.assigned:
        for value_node in scope.assigned[name]:
            yield from _values(value_node, scope, env, depth + 1)
    else:
        yield getattr(scope.module, name, ANY), env


def _subscript(node: ast.Subscript, scope: _Scope, env: Env,
               depth: int) -> Iterator[tuple[Any, Env]]:
    for table, env2 in _values(node.value, scope, env, depth + 1):
        for key, env3 in _values(node.slice, scope, env2, depth + 1):
            try:
                yield (ANY if ANY in (table, key) else table[key]), env3
            except (KeyError, IndexError, TypeError):
                yield ANY, env3


def _choice(node: ast.IfExp, scope: _Scope, env: Env, depth: int) -> Iterator[tuple[Any, Env]]:
    # The same condition takes the same branch throughout one call.
    key = "if:" + ast.dump(node.test)
    taken = dict(env).get(key)
    if taken is not False:
        yield from _values(node.body, scope, env if taken else (*env, (key, True)), depth + 1)
    if taken is not True:
        yield from _values(node.orelse, scope, env if taken is False else (*env, (key, False)),
                           depth + 1)


def _parts(node: ast.AST) -> list[ast.AST] | None:
    if isinstance(node, ast.JoinedStr):
        return list(node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return [node.left, node.right]
    return None


def _joined(parts: list[ast.AST], scope: _Scope, env: Env,
            depth: int) -> Iterator[tuple[Any, Env]]:
    if not parts:
        yield "", env
        return
    for head, env2 in _values(parts[0], scope, env, depth + 1):
        for tail, env3 in _joined(parts[1:], scope, env2, depth):
            text = ANY if ANY in (head, tail) or not isinstance(tail, str) else f"{head}{tail}"
            yield text, env3


def _arguments(call: ast.Call, scope: _Scope) -> dict[str, ast.AST]:
    args: dict[str, ast.AST] = dict(zip(FINDING_FIELDS, call.args, strict=False))
    for keyword in call.keywords:
        if keyword.arg:
            args[keyword.arg] = keyword.value
        elif isinstance(keyword.value, ast.Name):  # **common, a dict literal of the function
            for value in scope.assigned.get(keyword.value.id, []):
                if isinstance(value, ast.Dict):
                    args.update({k.value: v for k, v in zip(value.keys, value.values, strict=True)
                                 if isinstance(k, ast.Constant) and isinstance(k.value, str)})
    return args


def _emits(call: ast.Call, scope: _Scope, source: str) -> Iterator[Emit]:
    args = _arguments(call, scope)
    none = ast.Constant("")
    for check, e1 in _values(args["check"], scope, ()):
        for severity, e2 in _values(args.get("severity", ast.Constant(ANY)), scope, e1):
            for page, e3 in _values(args.get("page", none), scope, e2):
                for why, _ in _values(args.get("why", none), scope, e3):
                    if check is ANY:
                        raise ValueError(f"{source}: a finding whose check name is made at "
                                         "run time; name it, or list it in NAMED_ELSEWHERE")
                    yield Emit(check, severity if isinstance(severity, Severity) else None,
                               page if isinstance(page, str) else "",
                               why if isinstance(why, str) else "", source)


def _functions(tree: ast.AST) -> Iterator[tuple[ast.AST | None, ast.Call]]:
    """Every Finding(...) call, with the function it is in (None: module level)."""
    def walk(node: ast.AST, function: ast.AST | None) -> Iterator[tuple[ast.AST | None, ast.Call]]:
        for child in ast.iter_child_nodes(node):
            inner = child if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) \
                else function
            if isinstance(child, ast.Call) and isinstance(child.func, ast.Name) \
                    and child.func.id == "Finding":
                yield inner, child
            yield from walk(child, inner)
    yield from walk(tree, None)


def scan(root: Path = PACKAGE) -> list[Emit]:
    """What every Finding(...) call under ``root`` (the runbooks package) can produce."""
    found: list[Emit] = []
    for path in sorted(root.rglob("*.py")):
        rel = f"{root.name}/{path.relative_to(root).as_posix()}"
        text = path.read_text(encoding="utf-8")
        if "Finding(" not in text or rel in NAMED_ELSEWHERE:
            continue
        module = importlib.import_module(rel.removesuffix(".py").replace("/", "."))
        for function, call in _functions(ast.parse(text, rel)):
            found.extend(_emits(call, _Scope(module, function), f"{rel}:{call.lineno}"))
    return found


def _module_page(source: str) -> str:
    """The runbook page of the module a call is in (its ``PAGE``), for calls that name none."""
    module = importlib.import_module(source.split(":")[0].removesuffix(".py").replace("/", "."))
    return str(getattr(module, "PAGE", ""))


def _pick_page(check: str, pages: set[str], home: str) -> str:
    """One page for an alert: the anchor named like the check, else the top of its page
    (``home``, the module's own runbook, when the findings link to several)."""
    if len(pages) == 1:
        return next(iter(pages))
    last = check.rsplit(".", 1)[-1]
    named = sorted(p for p in pages if p.endswith(f"#{last}"))
    if named:
        return named[0]
    files = {p.split("#")[0] for p in pages}
    if len(files) == 1:  # several anchors of one runbook: its top, the "First" box
        return files.pop()
    if home in files:
        return home
    raise ValueError(f"{check}: findings link to several runbooks ({', '.join(sorted(pages))})")


def alert_name(check: str, severity: Severity) -> str:
    """mounts.barriers-off, CRIT -> BreakingPointMountsBarriersOffCrit."""
    words = [*re.split(r"[^A-Za-z0-9]+", check), severity.name.lower()]
    return "BreakingPoint" + "".join(w[:1].upper() + w[1:] for w in words if w)


def alerts(emits: list[Emit] | None = None) -> list[Alert]:
    """One alert per check and severity it can raise, in check order."""
    grouped: dict[tuple[str, Severity], list[Emit]] = {}
    for emit in scan() if emits is None else emits:
        for severity in ALERTED if emit.severity is None else (emit.severity,):
            if severity in ALERTED:
                grouped.setdefault((emit.check, severity), []).append(emit)
    result = []
    for (check, severity), group in sorted(grouped.items(), key=lambda kv: (kv[0][0],
                                                                           kv[0][1].exit_code)):
        pages = {e.page for e in group if e.page}
        if not pages:  # an UNKNOWN "looked at nothing" names no page: its runbook's
            pages = {p for e in group if (p := _module_page(e.source))}
        if not pages:
            raise ValueError(f"{check} {severity.name}: no page to link "
                             f"({', '.join(e.source for e in group)})")
        whys = [e.why for e in group if e.why]
        page = _pick_page(check, pages, _module_page(group[0].source))
        result.append(Alert(alert_name(check, severity), check, severity, page,
                            whys[0] if whys else "", tuple(sorted({e.source for e in group}))))
    return result


def render_rules(for_: str = "5m", emits: list[Emit] | None = None) -> str:
    """The rules file; ``for_`` is how long a finding must last before its alert fires."""
    from .generate import _env

    note = (f"# generated by runbooks/site/alerts.py from the Finding(...) calls in runbooks/; "
            f"edit runbooks/site/templates/{TEMPLATE}")
    return _env().get_template(TEMPLATE).render(
        alerts=alerts(emits), for_=for_, note=note, blind=docs_url(BLIND_PAGE),
        quote=_quote)


BLIND_PAGE = "monitoring/prometheus/#could-not-look"
PAGE = "monitoring/prometheus.md"
MARKER = "<!-- alert-rules -->"


def write_rules(docs_dir: Path) -> str:
    """Write the rules file into the docs (a download on the site) unless unchanged."""
    text = render_rules()
    path = docs_dir / RULES_FILE
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # readers see it whole
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    return text


def rules_table(page: str = PAGE) -> str:
    """The alerts as a Markdown table for ``page``, each linking its runbook section."""
    import posixpath

    rows = ["| Alert | Severity | Check | Runbook |", "| --- | --- | --- | --- |"]
    for a in alerts():
        file, _, anchor = a.page.partition("#")
        target = posixpath.relpath(file.rstrip("/") + ".md", posixpath.dirname(page))
        link = f"[{file.rstrip('/').split('/')[-1]}{'#' + anchor if anchor else ''}]" \
               f"({target}{'#' + anchor if anchor else ''})"
        rows.append(f"| `{a.name}` | {a.label} | `{a.check}` | {link} |")
    return "\n".join(rows) + "\n"


def _quote(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is valid YAML)."""
    import json

    return json.dumps(text, ensure_ascii=False)


def runbook_pages(rendered: str) -> list[str]:
    """Every runbook_url of a rules file, as the site-relative file#anchor it opens."""
    import yaml

    base = docs_url("x").removesuffix("x.html")
    urls = [rule["annotations"]["runbook_url"]
            for group in yaml.safe_load(rendered)["groups"] for rule in group["rules"]]
    return [url.removeprefix(base) if url.startswith(base) else url for url in urls]


def missing_anchors(rendered: str, site_dir: Path) -> list[str]:
    """The runbook_urls of a rules file whose page or anchor the built site lacks."""
    from .links import _parse

    problems = []
    for ref in sorted(set(runbook_pages(rendered))):
        file, _, anchor = site_path(ref).partition("#")
        html = site_dir / file
        if "://" in ref or not html.is_file():
            problems.append(f"{ref}: no page {file} on the built site")
        elif anchor and anchor not in _parse(html).ids:
            problems.append(f"{ref}: no anchor #{anchor} on {file}")
    return problems
