"""``bp``'s fast path: one task run straight from the command line, without Invoke.

Monitoring runs a check thousands of times an hour, and importing Invoke's
program costs more CPU than the check itself. A command line that names one
runbook task followed only by that task's long options (``bp mounts.audit
--format nagios --mount-point /srv``) is parsed here by Invoke's rules for the
same task definition (core.taskdef): ``--name value`` or ``--name=value``,
a switch for a boolean, repetition for a repeatable option, the value cast to
the type of the default, positional values for options without a default, and
every option passed (unset repeatable ones as ``[]``), as Invoke's executor does.

Anything else goes to Invoke's full program, which also gives every error
message: help, listing, short flags, an unknown option or task, a value that
does not cast, two tasks on one line. So does any Invoke configuration (a
config file or an ``INVOKE_`` variable), since only Invoke reads it; with none,
the context a task sees has an empty configuration, as Invoke's would.
tests/core/test_fastpath.py checks that both parse every option of every task alike.
"""

from __future__ import annotations

import inspect
import os
import sys
from importlib import import_module
from typing import Any

from .core.taskdef import RunbookTask
from .namespace import MODULES, MONITORING

CONFIG_STEMS = ("/etc/invoke", "~/.invoke")
CONFIG_SUFFIXES = (".yaml", ".yml", ".json", ".py")


class Fallback(Exception):
    """This command line needs Invoke's full program."""


class QuickContext:
    """What a task body gets as its context: Invoke's, minus what no runbook task uses."""

    def __init__(self) -> None:
        self.config: dict[str, Any] = {}


def invoke_configured() -> bool:
    """Whether Invoke would read a configuration (a file or an INVOKE_ variable)."""
    if any(name.startswith("INVOKE_") for name in os.environ):
        return True
    return any(os.path.exists(os.path.expanduser(stem + suffix))
               for stem in CONFIG_STEMS for suffix in CONFIG_SUFFIXES)


def find_task(word: str) -> RunbookTask:
    """The runbook task a command line's first word names (``mounts.audit``)."""
    domain, _, name = word.partition(".")
    if domain not in MONITORING or not name or "." in name:
        raise Fallback
    group = getattr(import_module(f"{__package__}.{MODULES.get(domain, domain)}"), "ns", None)
    task = group.find(name) if hasattr(group, "find") else None
    if task is None:
        raise Fallback
    return task


def _cast(param: inspect.Parameter, value: str) -> Any:
    kind = type(param.default)
    if kind in (int, float):
        try:
            number = kind(value)
        except ValueError:
            raise Fallback from None  # Invoke says what was wrong
        if number != number or number in (float("inf"), float("-inf")):
            raise Fallback
        return number
    return value


def _defaults(task: RunbookTask, params: list[inspect.Parameter]) -> dict[str, Any]:
    """Every option's value when not given: what Invoke's executor passes."""
    return {p.name: [] if p.name in task.iterable else p.default for p in params}


def parse_options(task: RunbookTask, words: list[str]) -> dict[str, Any]:
    """The keyword arguments Invoke would call ``task`` with for ``words``; else Fallback."""
    params = list(task.signature.parameters.values())[1:]
    by_flag = {"--" + p.name.replace("_", "-"): p for p in params}
    values = _defaults(task, params)
    waiting = [by_flag["--" + n.replace("_", "-")] for n in task.positional_names()]
    seen: set[str] = set()
    words = list(words)
    while words:
        word = words.pop(0)
        if not word.startswith("--"):
            if not waiting or word.startswith("-"):
                raise Fallback  # a short flag, or a second task
            param = waiting.pop(0)
            values[param.name] = _cast(param, word)
            seen.add(param.name)
            continue
        flag, has_value, value = word.partition("=")
        param = by_flag.get(flag)
        if param is None:
            raise Fallback
        if isinstance(param.default, bool):
            if has_value or param.default:
                raise Fallback  # Invoke's inverse flags and bad switch values stay Invoke's
            values[param.name] = True
        else:
            if not has_value:
                if not words or words[0].startswith("-"):
                    raise Fallback
                value = words.pop(0)
            if param.name in task.iterable:
                values[param.name] = [*values[param.name], value]
            elif param.name in seen:
                raise Fallback
            else:
                values[param.name] = _cast(param, value)
        seen.add(param.name)
        if param in waiting:
            waiting.remove(param)
    if any(p.default is inspect.Parameter.empty for p in waiting):
        raise Fallback  # a missing positional: Invoke's message
    return values


def resolve(argv: list[str]) -> tuple[RunbookTask, dict[str, Any]]:
    """The task and its options for ``argv`` (without the program name); else Fallback."""
    if not argv or argv[0].startswith("-") or invoke_configured():
        raise Fallback
    task = find_task(argv[0])
    return task, parse_options(task, argv[1:])


def run(argv: list[str]) -> int | None:
    """Run ``argv`` on the fast path and return its exit status; None: use Invoke."""
    try:
        task, options = resolve(argv)
    except Fallback:
        return None
    from .core.pipes import SIGPIPE_EXIT, quiet_broken_pipe, reader_gone, silence_output

    quiet_broken_pipe()
    try:
        task.body(QuickContext(), **options)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    except BrokenPipeError:
        if not reader_gone():
            raise
        silence_output()
        return SIGPIPE_EXIT
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        silence_output()
    return code
