"""The target options that check and change tasks share, declared once.

``runbook_task(targets="many")`` (a check), ``targets="fleet"`` (a change rolled
out over every target, core.rollout) or ``targets="one"`` (a change of one target) adds
these options to the task's signature, which is what Invoke reads to build its
command line, ``--help`` and the reference page; the task body then receives one
:class:`TargetOptions` as ``opts`` instead of a dozen keyword arguments.

Where a value comes from, first match wins:

1. the command line (``--hosts``, ``--known-hosts``, ``--identity``, ...);
2. the environment: ``BP_INVENTORY`` (only with ``--limit``), ``BP_KNOWN_HOSTS``,
   ``BP_IDENTITY``, as a lab or a monitoring agent sets them for a fleet;
3. Invoke's configuration (``invoke.yaml``, ``~/.invoke.yaml``, ``/etc/invoke.yaml``),
   section ``targets:`` with the keys ``inventory``, ``known_hosts`` and ``identity``;
4. the defaults shown by ``--help``.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from .errors import UsageError
from .render import FORMAT_HELP
from .targets import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_PARALLEL,
    Target,
    select_targets,
    split_list,
)

DEFAULT_CANARY = 1
DEFAULT_MAX_FAILURES = 0

TARGET_HELP = {
    "host": "SSH target(s), comma separated or repeated: [user@]host[:port]. "
    "Host keys are verified against known_hosts; unknown keys are refused.",
    "hosts": "Ansible inventory (INI or YAML) to take SSH targets from: @FILE.",
    "limit": "Only these inventory groups or hosts (comma separated); the inventory is "
    "--hosts, or $BP_INVENTORY.",
    "container": "Docker container(s) to inspect instead of this host, by name.",
    "format": FORMAT_HELP,
    "known_hosts": "known_hosts file for SSH host key checks (default ~/.ssh/known_hosts).",
    "accept_new": "Trust and record the key of a host not yet in known_hosts (like "
    "OpenSSH's accept-new). A changed key is always refused.",
    "identity": "SSH private key file (default: ssh-agent and ~/.ssh/id_*).",
    "connect_timeout": f"Seconds allowed for an SSH connection and login "
    f"(default {DEFAULT_CONNECT_TIMEOUT:g}).",
    "timeout": f"Seconds one command may run on a target (default {DEFAULT_COMMAND_TIMEOUT:g}).",
    "parallel": f"How many targets are worked on at once (default {DEFAULT_PARALLEL}); "
    "for a change with --apply, the size of each wave after the canary.",
    "canary": f"With --apply on several hosts: how many hosts are changed and verified "
    f"first, before any other is touched (default {DEFAULT_CANARY}).",
    "max_failures": f"With --apply on several hosts: stop the rollout as soon as more hosts "
    f"than this failed (default {DEFAULT_MAX_FAILURES}).",
    "yes": "Answer yes to the confirmations of a rollout on several hosts (needed "
    "without a terminal).",
    "textfile_dir": "Also write the result as Prometheus metrics to "
    "DIR/breaking_point_TASK.prom for node_exporter's textfile collector (written to a "
    "temporary file, then renamed); the output chosen by --format is printed as usual.",
}
# Their order in a task's signature: Invoke hands out short flags in this order.
TARGET_DEFAULTS: dict[str, Any] = {
    "host": None, "hosts": None, "limit": None, "container": None, "format": None,
    "known_hosts": None, "accept_new": False, "identity": None,
    "connect_timeout": DEFAULT_CONNECT_TIMEOUT, "timeout": DEFAULT_COMMAND_TIMEOUT,
    "parallel": DEFAULT_PARALLEL,
    "canary": DEFAULT_CANARY, "max_failures": DEFAULT_MAX_FAILURES, "yes": False,
    "textfile_dir": None,  # last: a new option must not take an older one's short flag
}
FLEET_ONLY = ("canary", "max_failures", "yes")  # only a rollout has a canary and a budget
CHECK_ONLY = ("format", "parallel")  # a change works on one target and prints its plan
MONITORING_ONLY = ("textfile_dir",)  # only a check has metrics to write
# Option, environment variable, key of the `targets:` configuration section.
MACHINE_DEFAULTS = (("hosts", "BP_INVENTORY", "inventory"),
                    ("known_hosts", "BP_KNOWN_HOSTS", "known_hosts"),
                    ("identity", "BP_IDENTITY", "identity"))


@dataclass(frozen=True)
class TargetOptions:
    """A task's target options: what to work on, how to reach it, how to report."""

    task: str
    host: str | None = None
    hosts: str | None = None
    limit: str | None = None
    container: str | None = None
    format: str | None = None
    known_hosts: str | None = None
    accept_new: bool = False
    identity: str | None = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    timeout: float = DEFAULT_COMMAND_TIMEOUT
    parallel: int = DEFAULT_PARALLEL
    canary: int = DEFAULT_CANARY
    max_failures: int = DEFAULT_MAX_FAILURES
    yes: bool = False
    textfile_dir: str | None = None

    @classmethod
    def build(cls, task: str, values: Mapping[str, Any],
              config: Mapping[str, Any] | None = None) -> TargetOptions:
        """From the parsed option values, with machine defaults filled in (see the module)."""
        chosen = {f.name: values[f.name] for f in fields(cls) if f.name in values}
        for name, kind in (("connect_timeout", float), ("timeout", float), ("parallel", int),
                           ("canary", int), ("max_failures", int)):
            if chosen.get(name) is not None:
                chosen[name] = kind(chosen[name])  # Invoke casts; a direct call may not
        section = dict((config or {}).get("targets") or {})
        for option, variable, key in MACHINE_DEFAULTS:
            if option == "hosts" and chosen.get("limit") is None:
                continue  # an inventory only serves --limit; without it, the host is local
            chosen[option] = (chosen.get(option) or os.environ.get(variable)
                              or section.get(key) or None)
        return cls(task=task, **chosen)

    def targets(self, **changes: Any) -> list[Target]:
        """Every target the options name (this host when none), e.g. ``targets(timeout=45)``."""
        opts = replace(self, **changes) if changes else self
        specs = split_list(opts.host)
        if opts.hosts:
            from .inventory import load_inventory, select_hosts

            specs += select_hosts(load_inventory(opts.hosts), opts.limit)
        elif opts.limit is not None:
            raise UsageError("--limit needs --hosts @INVENTORY")
        return select_targets(
            specs, opts.container, known_hosts=opts.known_hosts, identity=opts.identity,
            connect_timeout=float(opts.connect_timeout or DEFAULT_CONNECT_TIMEOUT),
            command_timeout=float(opts.timeout or DEFAULT_COMMAND_TIMEOUT),
            accept_new=bool(opts.accept_new),
        )

    def one_target(self) -> Target:
        """The single target a change works on; UsageError when the options name more."""
        targets = self.targets()
        if len(targets) != 1:
            raise UsageError(f"{self.task} changes one target at a time; give one --host, "
                             "--container or inventory host (--limit)")
        return targets[0]


def option_names(kind: str) -> list[str]:
    """The shared options of a check (``many``), a rollout (``fleet``) or a one-target
    change (``one``), in signature order."""
    if kind not in ("many", "fleet", "one"):
        raise ValueError(f"targets must be 'many', 'fleet', 'one' or None, not {kind!r}")
    if kind == "fleet":
        return [n for n in TARGET_DEFAULTS if n not in MONITORING_ONLY]
    return [n for n in TARGET_DEFAULTS
            if n not in FLEET_ONLY and (kind == "many" or n not in CHECK_ONLY + MONITORING_ONLY)]


def with_target_options(fn: Callable[..., Any], kind: str, task: str,
                        defaults: Mapping[str, Any] | None = None) -> Callable[..., Any]:
    """``fn(c, ..., opts)`` as a task function whose signature has the shared options.

    The options come after ``fn``'s own (Invoke picks short flags in signature order);
    ``defaults`` overrides a shared default for this task, e.g. a longer timeout.
    """
    names = option_names(kind)
    own = inspect.signature(fn)
    if "opts" not in own.parameters:
        raise TypeError(f"{fn.__name__} needs an `opts` parameter for its target options")
    chosen = {**TARGET_DEFAULTS, **(defaults or {})}
    added = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=chosen[n])
             for n in names]
    params = [p for p in own.parameters.values() if p.name != "opts"]
    signature = own.replace(parameters=params + added)

    def task_body(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        shared = {n: values.pop(n) for n in names}
        context = next(iter(values.values()), None)
        opts = TargetOptions.build(task, shared, getattr(context, "config", None))
        return fn(**values, opts=opts)

    task_body.__name__, task_body.__qualname__ = fn.__name__, fn.__qualname__
    task_body.__module__, task_body.__doc__ = fn.__module__, fn.__doc__
    task_body.__signature__ = signature  # type: ignore[attr-defined]
    return task_body
