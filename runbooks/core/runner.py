"""Glue between Invoke tasks and the runbook layers.

``runbook_task`` turns a plain function into an Invoke task that shares the
target options (--host, --container, --format, timeouts, --parallel) and turns
every :class:`RunbookError` into a one-line message and exit status 3 instead
of a traceback. ``run_check`` collects findings from all targets concurrently
and renders them.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import sys
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from invoke import Exit, task

from .entry import TypedTask
from .errors import RunbookError, UsageError
from .findings import Finding, Report, Severity
from .render import FORMAT_HELP, check_format, render
from .targets import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_PARALLEL,
    Interrupted,
    Target,
    run_on_targets,
    select_targets,
    split_list,
)

COMMON_HELP = {
    "host": "SSH target(s), comma separated or repeated: [user@]host[:port]. "
    "Host keys are verified against known_hosts; unknown keys are refused.",
    "container": "Docker container(s) to inspect instead of this host, by name.",
    "format": FORMAT_HELP,
    "known_hosts": "known_hosts file for SSH host key checks (default ~/.ssh/known_hosts).",
    "identity": "SSH private key file (default: ssh-agent and ~/.ssh/id_*).",
    "connect_timeout": f"Seconds allowed for an SSH connection and login "
    f"(default {DEFAULT_CONNECT_TIMEOUT:g}).",
    "timeout": f"Seconds one command may run on a target (default {DEFAULT_COMMAND_TIMEOUT:g}).",
    "parallel": f"How many targets are worked on at once (default {DEFAULT_PARALLEL}).",
    "apply": "Make the change. Without it, only print what would change.",
    "hosts": "Ansible inventory (INI or YAML) to take SSH targets from: @FILE.",
    "limit": "Only these inventory groups or hosts (comma separated); the inventory is "
    "--hosts, or $BP_INVENTORY.",
    "accept_new": "Trust and record the key of a host not yet in known_hosts (like "
    "OpenSSH's accept-new). A changed key is always refused.",
}


def fail(message: str, fmt: str | None = None, label: str = "BREAKING-POINT") -> Exit:
    """An Exit carrying a one-line error; nagios output also gets its UNKNOWN line."""
    if (fmt or "").lower() == "nagios":
        print(f"{label} UNKNOWN - {message}")
    elif (fmt or "").lower() == "checkmk":
        print(f'3 "{label}" - UNKNOWN - {message}')
    print(f"error: {message}", file=sys.stderr)
    return Exit(code=3)


def guarded(fn: Callable[..., Any], label: str) -> Callable[..., Any]:
    """Run a task body; RunbookError and Ctrl-C end it with one line, not a traceback.

    (A reader that leaves, as in `| head`, is TypedTask's business: see core.entry.)
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except RunbookError as exc:
            raise fail(str(exc), kwargs.get("format"), label) from None
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            raise Exit(code=130) from None

    return wrapper


def runbook_task(
    help: dict[str, str] | None = None,
    iterable: Iterable[str] = (),
    name: str | None = None,
    label: str | None = None,
    positional: Iterable[str] | None = None,
) -> Callable[[Callable[..., Any]], Any]:
    """Decorator: an Invoke task with the shared option help and one-line errors.

    Its options are typed (core.entry.TypedTask): `--timeout=abc` is a one-line
    error with exit status 3, and `--help` names every option's value type.

    ``label`` prefixes Nagios UNKNOWN lines (default: the task's name).
    """

    def decorate(fn: Callable[..., Any]) -> Any:
        params = inspect.signature(fn).parameters
        merged = {k: v for k, v in COMMON_HELP.items() if k in params}
        merged.update(help or {})
        label_text = label or (name or fn.__name__).upper()
        kwargs: dict[str, Any] = {"help": merged, "iterable": list(iterable)}
        if name:
            kwargs["name"] = name
        if positional is not None:
            kwargs["positional"] = list(positional)
        return task(klass=TypedTask, **kwargs)(guarded(fn, label_text))

    return decorate


def targets_from(
    host: str | None = None,
    container: str | None = None,
    known_hosts: str | None = None,
    identity: str | None = None,
    connect_timeout: float | None = None,
    timeout: float | None = None,
    hosts: str | None = None,
    limit: str | None = None,
    accept_new: bool = False,
    **_: Any,
) -> list[Target]:
    """Build targets from a task's shared options (other keyword arguments are ignored).

    BP_INVENTORY, BP_KNOWN_HOSTS and BP_IDENTITY in the environment stand in for
    --hosts, --known-hosts and --identity (set once for a fleet, e.g. by a lab).
    """
    hosts = hosts or (os.environ.get("BP_INVENTORY") if limit is not None else None)
    known_hosts = known_hosts or os.environ.get("BP_KNOWN_HOSTS") or None
    identity = identity or os.environ.get("BP_IDENTITY") or None
    specs = split_list(host)
    if hosts:
        from .inventory import load_inventory, select_hosts

        specs += select_hosts(load_inventory(hosts), limit)
    elif limit is not None:
        raise UsageError("--limit needs --hosts @INVENTORY")
    return select_targets(
        specs, container, known_hosts=known_hosts, identity=identity,
        connect_timeout=float(connect_timeout or DEFAULT_CONNECT_TIMEOUT),
        command_timeout=float(timeout or DEFAULT_COMMAND_TIMEOUT), accept_new=accept_new,
    )


def one_target_from(task: str, **options: Any) -> Target:
    """The single target a changing task works on (from the shared target options)."""
    targets = targets_from(**options)
    if len(targets) != 1:
        raise UsageError(f"{task} changes one target at a time; give one --host, --container "
                         "or inventory host (--limit)")
    return targets[0]


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


def finish(report: Report, fmt: str | None) -> None:
    """Render the report and end the task with the worst severity as exit status."""
    code = render(report, check_format(fmt))
    raise Exit(code=code)
