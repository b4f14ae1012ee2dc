"""Glue between the tasks and the runbook layers.

``runbook_task`` turns a plain function into a task (core.taskdef: Invoke's on
demand, runnable without Invoke by ``bp``'s fast path) that can share the target
options (--host, --container, --format, timeouts, --parallel: see core.options)
and turns every :class:`RunbookError` into a one-line message and exit status 3
instead of a traceback. ``collect_report`` collects findings from all targets
concurrently; ``finish`` renders them and sets the exit status. A task ends with
:class:`TaskExit`, a SystemExit that both programs pass on as the exit status.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from .errors import RunbookError
from .findings import Finding, Report, Severity
from .options import TARGET_HELP, TargetOptions, with_target_options
from .render import check_format, render
from .targets import DEFAULT_PARALLEL, Interrupted, Target, run_on_targets
from .taskdef import RunbookTask, collection

__all__ = ["COMMON_HELP", "TargetOptions", "TaskExit", "collect_report", "collection",
           "fail", "finish", "guarded", "runbook_task"]

COMMON_HELP = {
    **TARGET_HELP,
    "apply": "Make the change. Without it, only print what would change (on several "
    "hosts: every host's plan, grouped).",
}


class TaskExit(SystemExit):
    """The end of a task with an exit status (0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN or error)."""


def fail(message: str, fmt: str | None = None, label: str = "BREAKING-POINT",
         textfile: tuple[str, str] | None = None) -> TaskExit:
    """A TaskExit after a one-line error; nagios output also gets its UNKNOWN line.

    ``textfile`` (runbook, folder): the metrics file is replaced by one that says the
    check could not look, so Prometheus never keeps reading the last good result.
    """
    if textfile:
        _write_blind_textfile(*textfile)
    if (fmt or "").lower() == "nagios":
        print(f"{label} UNKNOWN - {message}")
    elif (fmt or "").lower() == "checkmk":
        print(f'3 "{label}" - UNKNOWN - {message}')
    print(f"error: {message}", file=sys.stderr)
    return TaskExit(3)


def _write_blind_textfile(runbook: str, folder: str) -> None:
    from .prometheus import write_textfile

    # Best effort: the error that ended the check is printed anyway, and a folder that
    # cannot be written is one (the next run names it).
    with contextlib.suppress(RunbookError):
        write_textfile(Report(runbook, runbook, targets=["localhost"]), folder)


HELP_FLAGS = ("-h", "--help")


def _help_asked(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether a positional argument took ``--help``: Invoke's parser hands the flag to a
    task's missing positional argument (``invoke mfs.audit --help``) instead of helping."""
    try:
        bound = inspect.signature(fn).bind_partial(*args, **kwargs).arguments
    except TypeError:
        return False
    required = [p.name for p in inspect.signature(fn).parameters.values()
                if p.default is inspect.Parameter.empty][1:]  # [0] is the context
    return any(bound.get(name) in HELP_FLAGS for name in required)


def _show_help(cli_name: str) -> TaskExit:
    """The program's own help for this task, as `PROGRAM --help TASK` prints it."""
    import subprocess

    task = next((t for t in sys.argv[1:] if t == cli_name or t.endswith("." + cli_name)),
                cli_name)
    program = [sys.executable, sys.argv[0]] if sys.argv[0].endswith(".py") else sys.argv[:1]
    return TaskExit(subprocess.run([*program, "--help", task], check=False).returncode)


def guarded(fn: Callable[..., Any], label: str, runbook: str = "",
            cli_name: str = "") -> Callable[..., Any]:
    """Run a task body; RunbookError and Ctrl-C end it with one line, not a traceback.

    (A reader that leaves, as in `| head`, is the program's business: see core.pipes.)
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if cli_name and _help_asked(fn, args, kwargs):
            raise _show_help(cli_name)
        try:
            return fn(*args, **kwargs)
        except RunbookError as exc:
            folder = kwargs.get("textfile_dir")
            raise fail(str(exc), kwargs.get("format"), label,
                       (runbook, folder) if folder and runbook else None) from None
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            raise TaskExit(130) from None

    return wrapper


def runbook_task(
    help: dict[str, str] | None = None,
    iterable: Iterable[str] = (),
    name: str | None = None,
    label: str | None = None,
    positional: Iterable[str] | None = None,
    targets: str | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], RunbookTask]:
    """Decorator: a task with the shared option help and one-line errors.

    ``targets="many"`` (a check), ``"fleet"`` (a change rolled out over many targets,
    core.rollout) or ``"one"`` (a change of one target) adds the shared target
    options (core.options) to the task's signature and hands the body one
    ``opts: TargetOptions``; ``defaults`` changes a shared option's default for
    this task. Its options are typed (core.entry.TypedTask): `--timeout=abc` is a
    one-line error with exit status 3, and `--help` names every option's value type.

    ``label`` prefixes Nagios UNKNOWN lines (default: the task's name).
    """

    def decorate(fn: Callable[..., Any]) -> RunbookTask:
        task_name = name or fn.__name__
        runbook = ""
        if targets is not None:
            domain = fn.__module__.split(".")[1] if "." in fn.__module__ else fn.__module__
            runbook = f"{domain}.{task_name}"
            fn = with_target_options(fn, targets, runbook, defaults)
        params = inspect.signature(fn).parameters
        merged = {k: v for k, v in COMMON_HELP.items() if k in params}
        merged.update(help or {})
        return RunbookTask(guarded(fn, label or task_name.upper(), runbook,
                                   task_name.replace("_", "-")), name=name,
                           help=merged, iterable=iterable, positional=positional)

    return decorate


def _strip_target(message: str, target: Target) -> str:
    prefix = f"{target.name}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def collect_report(
    name: str,
    title: str,
    noun: str,
    targets: list[Target],
    work: Callable[[Target], Awaitable[list[Finding]]],
    parallel: int = DEFAULT_PARALLEL,
) -> Report:
    """Run ``work`` on all targets; a target that fails becomes an UNKNOWN finding."""
    report = Report(name, title, noun, targets=[t.name for t in targets])
    outcomes = asyncio.run(run_on_targets(targets, work, parallel=parallel))
    for target, result in outcomes:
        if isinstance(result, BaseException):
            if isinstance(result, RunbookError):
                message = _strip_target(str(result), target)
            else:  # a bug or an unexpected library error: still one line
                message = f"{type(result).__name__}: {result}"
            print(f"error: {target.name}: {message}", file=sys.stderr)
            report.findings.append(
                Finding(f"{name}.reach", Severity.UNKNOWN, target.name, "", message)
            )
        else:
            report.extend(result)
    interrupted = sum(1 for _, r in outcomes if isinstance(r, Interrupted))
    if interrupted:
        print(f"interrupted: {len(targets) - interrupted} of {len(targets)} targets finished",
              file=sys.stderr)
    report.metrics.setdefault("targets", len(targets))
    report.metrics["unreachable"] = sum(
        1 for f in report.findings if f.check == f"{name}.reach"
    )
    return report


def finish(report: Report, fmt: str | None, textfile_dir: str | None = None) -> None:
    """Render the report (and write its metrics file) and end the task with the worst
    severity as exit status."""
    fmt = check_format(fmt)
    if textfile_dir:
        from .prometheus import write_textfile

        write_textfile(report, textfile_dir)
    code = render(report, fmt)
    raise TaskExit(code)
