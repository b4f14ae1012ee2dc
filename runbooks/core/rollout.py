"""Rollouts: one change planned on every host, then applied canary first, in waves.

A changing task declared with ``runbook_task(targets="fleet")`` describes its
change as a :class:`FleetChange` (how to plan one host) and calls
:func:`roll_out` with its target options:

- One target (one ``--host``, one inventory host, a container, this host):
  exactly the single-target behaviour of ``core.changes.apply_plan``.
- Several, without ``--apply``: every host is planned concurrently (at most
  ``--parallel`` at once) and the plans are printed grouped by what the hosts
  would do, after a one-line summary; ``--format json`` gives the same as data.
- Several, with ``--apply``: refused without a terminal unless ``--yes``;
  otherwise the plan summary, a confirmation, ``--canary`` hosts changed and
  verified (every step's check, and a second plan that must be empty), a second
  confirmation, then the rest in waves of ``--parallel``. The rollout stops
  after the wave in which more than ``--max-failures`` hosts failed, or after
  the hosts in flight on Ctrl-C. A host whose change fails gets its completed
  steps undone, so it is left as it was (or says that it is not). The journal
  holds one rollout entry with every host's state, and each host's change
  points to it (``changes.undo ROLLOUT`` undoes them all, as a rollout).

Exit status: 0 all done, 1 a host failed or was not reached, 2 refused (no
confirmation); errors before anything ran stay one line and 3, as everywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from .changes import (
    NothingToDo,
    Plan,
    _now,
    apply_plan,
    print_plan,
    record_rollout,
    record_run,
    roll_back,
    run_steps,
    update_entry,
)
from .errors import RunbookError
from .options import TargetOptions
from .targets import SSHTarget, Target

EXIT_DONE, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2
# What a host's state is called in summaries (a change's group gets its own label).
LABELS = {"unreachable": "unreachable", "error": "could not be planned",
          "done": "done", "failed": "failed, left as it was",
          "dirty": "failed, NOT as it was", "untouched": "not reached, untouched"}

# A host's state after its change, as its own record (core.hostrecord) says it.
ON_HOST = {"done": "done", "failed": "rolled back", "dirty": "failed"}


@dataclass
class FleetChange:
    """A change as the rollout engine sees it."""

    runbook: str
    plan: Callable[[Target], Awaitable[Plan]]  # reads one host, returns its plan
    unit: Callable[[Plan], str] | None = None  # what one host's plan changes: "2 scripts"
    settled: bool = True  # a changed host plans nothing more: the canary's second check
    after: Callable[[Host], None] | None = None  # called for every host done (undo marks)
    extra: dict[str, Any] = field(default_factory=dict)  # journalled with the rollout


@dataclass
class Host:
    """One host of a rollout: its plan, and where it stands."""

    target: Target
    plan: Plan | None = None
    state: str = "planned"  # change, idle, unreachable, error; then done, failed, dirty
    why: str = ""
    change_id: int = 0
    output: str = ""
    canary: bool = False

    @property
    def name(self) -> str:
        return self.target.name


# --- planning ---------------------------------------------------------------------------


def _strip(message: str, target: Target) -> str:
    prefix = f"{target.name}: "
    return message[len(prefix):] if message.startswith(prefix) else message


async def _close(target: Target) -> None:
    with contextlib.suppress(Exception):  # closing a dead link may fail too
        await target.close()


async def _plan_one(change: FleetChange, target: Target) -> Host:
    host = Host(target)
    try:
        host.plan = await change.plan(target)
        host.state = "change" if host.plan.steps else "idle"
    except NothingToDo as exc:
        host.plan = Plan(change.runbook, target, idle=exc.idle, notes=[str(exc)])
        host.state = "idle"
    except Exception as exc:  # one host's problem stays that host's
        never_connected = isinstance(target, SSHTarget) and target._conn is None
        host.state = "unreachable" if never_connected else "error"
        text = str(exc) if isinstance(exc, RunbookError) else f"{type(exc).__name__}: {exc}"
        host.why = _strip(text, target)
    if host.state != "change":
        await _close(target)
    return host


async def plan_all(change: FleetChange, targets: Sequence[Target], parallel: int
                   ) -> list[Host]:
    """Every target planned, at most ``parallel`` at once; the hosts keep their order."""
    gate = asyncio.Semaphore(max(1, parallel))

    async def one(target: Target) -> Host:
        async with gate:
            return await _plan_one(change, target)

    return list(await asyncio.gather(*(one(t) for t in targets)))


def _signature(plan: Plan) -> tuple[Any, ...]:
    """What makes two hosts' plans the same: their commands, undos and manual steps."""
    return (tuple((tuple(s.argv), tuple(s.undo or ())) for s in plan.steps),
            tuple(plan.manual))


@dataclass
class Group:
    """Hosts whose plans are the same (or that are idle or failed for the same reason)."""

    state: str
    label: str
    hosts: list[Host]


def group_hosts(change: FleetChange, hosts: list[Host]) -> list[Group]:
    """Hosts grouped by what they would do; changes first, in order of first appearance."""
    groups: dict[Any, Group] = {}
    for host in hosts:
        if host.state == "change" and host.plan is not None:
            unit = change.unit(host.plan) if change.unit else f"{len(host.plan.steps)} steps"
            key: Any = ("change", _signature(host.plan))
            label = f"would change ({unit} each)"
        elif host.state == "idle" and host.plan is not None:
            key = label = host.plan.idle or "nothing to change"
        else:
            key = label = LABELS.get(host.state, host.state)
        groups.setdefault(key, Group(host.state, label, [])).hosts.append(host)
    order = {"change": 0, "idle": 1}
    return sorted(groups.values(), key=lambda g: order.get(g.state, 2))


def summary(change: FleetChange, hosts: list[Host]) -> str:
    """``login.trim-motd on 50 hosts: 37 would change (6 scripts each), 11 ...``."""
    counts: dict[str, int] = {}
    for group in group_hosts(change, hosts):  # plans that differ may still read the same
        counts[group.label] = counts.get(group.label, 0) + len(group.hosts)
    parts = [f"{count} {label}" for label, count in counts.items()]
    return f"{change.runbook} on {len(hosts)} hosts: {', '.join(parts)}"


def _names(hosts: list[Host]) -> str:
    return ", ".join(h.name for h in hosts)


def print_groups(change: FleetChange, hosts: list[Host], out: TextIO,
                 steps: bool = True) -> None:
    """The per-host plans, once per group of hosts that would do the same (without their
    steps when not ``steps``: a rollout shows the groups its dry run showed in full)."""
    for group in group_hosts(change, hosts):
        count = f"{len(group.hosts)} host{'s' if len(group.hosts) != 1 else ''}"
        lead = "\n" if steps else ""
        out.write(f"{lead}== {count} {group.label}: {_names(group.hosts)}\n")
        first = group.hosts[0]
        if group.state == "change" and not steps:
            continue
        if group.state == "change" and first.plan is not None:
            print_plan(first.plan, out)
        elif group.state == "idle":
            for host in group.hosts:
                for note in (host.plan.notes if host.plan else []):
                    out.write(note + "\n")
        else:
            for host in group.hosts:
                out.write(f"{host.name}: {host.why}\n")


def _step_data(plan: Plan) -> list[dict[str, Any]]:
    return [{"description": s.description, "argv": list(s.argv),
             "undo": list(s.undo) if s.undo else None} for s in plan.steps]


def plan_data(change: FleetChange, hosts: list[Host]) -> dict[str, Any]:
    """The grouped plans as data (``--format json``)."""
    groups = []
    for group in group_hosts(change, hosts):
        first = group.hosts[0]
        entry: dict[str, Any] = {"state": group.state, "label": group.label,
                                 "hosts": [h.name for h in group.hosts]}
        if group.state == "change" and first.plan is not None:
            entry["steps"] = _step_data(first.plan)
            entry["manual"] = list(first.plan.manual)
        elif group.state == "idle":
            entry["notes"] = {h.name: h.plan.notes for h in group.hosts if h.plan}
        else:
            entry["why"] = {h.name: h.why for h in group.hosts}
        groups.append(entry)
    return {"runbook": change.runbook, "hosts": len(hosts),
            "summary": summary(change, hosts), "groups": groups}


# --- applying ---------------------------------------------------------------------------


async def _verify(change: FleetChange, host: Host) -> str:
    """Why a changed canary does not hold ("" when it does): its second plan must be empty."""
    if not change.settled:
        return ""
    try:
        again = await change.plan(host.target)
    except RunbookError as exc:
        return f"verifying: {_strip(str(exc), host.target)}"
    if again.steps:
        return f"verifying: a second plan still has {len(again.steps)} steps to do"
    return ""


async def _apply_one(change: FleetChange, host: Host, rollout_id: int) -> None:
    """Apply one host's plan; on failure undo its completed steps. Journals what ran."""
    assert host.plan is not None
    out = io.StringIO()
    done, failure = await run_steps(host.plan, out)
    if not failure and host.canary:
        failure = await _verify(change, host)
    extra: dict[str, Any] = {"rollout": rollout_id}
    if failure:
        left = ""
        try:
            left = await roll_back(host.target, done, out) if done else ""
        except RunbookError as exc:
            left = _strip(str(exc), host.target)
        host.state = "dirty" if left else "failed"
        undone = f"its {len(done)} completed steps were undone" if done else "nothing had run"
        host.why = _strip(failure, host.target) + (
            f"; NOT as it was: {left}" if left else f"; left as it was ({undone})")
        extra.update(failure=host.why, **({} if left else {"undone": _now()}))
    else:
        host.state = "done"
    if done:
        host.change_id = await record_run(host.plan, done, ON_HOST[host.state], host.why,
                                          extra)
    host.output = out.getvalue()
    await _close(host.target)


def _report_host(host: Host, out: TextIO) -> None:
    for line in host.output.splitlines():
        out.write(f"{host.name}: {line}\n")
    tag = " (canary)" if host.canary else ""
    if host.state == "done":
        out.write(f"{host.name}: done{tag}\n")
    else:
        out.write(f"{host.name}: FAILED{tag}: {host.why}\n")
    out.flush()


class Stop:
    """Ctrl-C during a rollout: finish the hosts in flight, start no more."""

    def __init__(self) -> None:
        self.asked = False

    def __call__(self) -> None:
        if not self.asked:
            print("interrupted: stopping after the hosts in flight", file=sys.stderr)
        self.asked = True


async def apply_wave(change: FleetChange, wave: list[Host], rollout_id: int,
                     out: TextIO) -> None:
    """Apply a wave of hosts concurrently and report each as it finishes."""

    async def one(host: Host) -> None:
        try:
            await _apply_one(change, host, rollout_id)
        except Exception as exc:  # a bug must not leave the rollout without its state
            host.state, host.why = "dirty", f"{type(exc).__name__}: {exc}"
        _report_host(host, out)
        if host.state == "done" and change.after is not None:
            change.after(host)

    await asyncio.gather(*(one(h) for h in wave))


# --- the rollout ------------------------------------------------------------------------


def _confirm(question: str, yes: bool) -> bool:
    """The operator's yes (``--yes`` answers for scripts); Ctrl-C or end of input is no."""
    if yes:
        return True
    try:
        answer = input(f"{question} [y/N] ")
    except (EOFError, KeyboardInterrupt):
        print(file=sys.stderr)
        return False
    return answer.strip().lower() in ("y", "yes")


@dataclass
class Rollout:
    """A rollout under way: its hosts, settings and where it stands."""

    change: FleetChange
    hosts: list[Host]
    opts: TargetOptions
    out: TextIO
    rollout_id: int = 0
    stopped: str = ""

    @property
    def failures(self) -> int:
        return sum(1 for h in self.hosts if h.state in ("failed", "dirty"))

    def over_budget(self) -> bool:
        return self.failures > self.opts.max_failures

    def journal(self, state: str) -> None:
        hosts = {h.name: {"state": h.state, "change": h.change_id or None, "why": h.why}
                 for h in self.hosts}
        with contextlib.suppress(OSError):  # the hosts' own entries are already written
            update_entry(self.rollout_id, hosts=hosts, state=state)


async def _run_waves(rollout: Rollout, todo: list[Host], stop: Stop) -> None:
    canaries = todo[:max(0, rollout.opts.canary)]
    for host in canaries:
        host.canary = True
    if canaries:
        rollout.out.write(f"canary: {_names(canaries)}\n")
        await apply_wave(rollout.change, canaries, rollout.rollout_id, rollout.out)
        if rollout.failures:
            rollout.stopped = "the canary failed"
            return
    rest = todo[len(canaries):]
    if rest and canaries and not _confirm(
            f"canary {_names(canaries)} done and verified; change the other {len(rest)} hosts "
            f"in waves of {rollout.opts.parallel}?", rollout.opts.yes):
        rollout.stopped = "not confirmed after the canary"
        return
    size = max(1, rollout.opts.parallel)
    for start in range(0, len(rest), size):
        if stop.asked:
            rollout.stopped = "interrupted (Ctrl-C)"
            return
        await apply_wave(rollout.change, rest[start:start + size], rollout.rollout_id,
                         rollout.out)
        if rollout.over_budget():
            rollout.stopped = (f"{rollout.failures} failed, more than --max-failures "
                               f"{rollout.opts.max_failures}")
            return


def _standing(rollout: Rollout) -> list[str]:
    """Where the rollout stands: hosts by state, and how to undo."""
    lines = []
    verdict = f"stopped: {rollout.stopped}" if rollout.stopped else "finished"
    lines.append(f"rollout {rollout.rollout_id} {verdict}")
    for state in ("done", "failed", "dirty", "untouched", "unreachable", "error", "idle"):
        hosts = [h for h in rollout.hosts if h.state == state]
        if not hosts:
            continue
        label = "nothing to do" if state == "idle" else LABELS[state]
        lines.append(f"  {label} ({len(hosts)}): {_names(hosts)}")
        if state in ("failed", "dirty", "unreachable", "error"):
            lines += [f"    {h.name}: {h.why}" for h in hosts]
    if any(h.change_id for h in rollout.hosts):
        lines.append(f"undo the whole rollout with: invoke changes.undo {rollout.rollout_id} "
                     "--apply")
    return lines


async def _apply(rollout: Rollout) -> int:
    todo = [h for h in rollout.hosts if h.state == "change"]
    rollout.rollout_id = record_rollout(
        rollout.change.runbook, [h.name for h in rollout.hosts],
        {"canary": rollout.opts.canary, "parallel": rollout.opts.parallel,
         "max_failures": rollout.opts.max_failures, **rollout.change.extra})
    rollout.out.write(f"rollout {rollout.rollout_id}: {len(todo)} hosts to change\n")
    stop = Stop()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGINT, stop)
    try:
        await _run_waves(rollout, todo, stop)
    except asyncio.CancelledError:
        rollout.stopped = "interrupted"
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(signal.SIGINT)
        for host in todo:
            if host.state == "change":
                host.state = "untouched"
                await _close(host.target)
        state = "stopped" if rollout.stopped else "done"
        rollout.journal(state)
        for line in _standing(rollout):
            rollout.out.write(line + "\n")
    clean = not rollout.stopped and not rollout.failures and all(
        h.state in ("done", "idle") for h in rollout.hosts)
    return EXIT_DONE if clean else EXIT_FAILED


def _show_plan(change: FleetChange, hosts: list[Host], opts: TargetOptions,
               apply: bool, out: TextIO) -> None:
    if (opts.format or "").lower() == "json":
        if not apply:  # a rollout prints its plans with its outcome, at the end
            print(json.dumps(plan_data(change, hosts), indent=2))
        return
    out.write(summary(change, hosts) + "\n")
    print_groups(change, hosts, out, steps=not apply)
    if not apply and any(h.state == "change" for h in hosts):
        out.write(f"\ndry run: nothing changed; add --apply to roll it out (canary "
                  f"{opts.canary}, then waves of {opts.parallel}, stop after "
                  f"{opts.max_failures} failures)\n")


async def _fleet(change: FleetChange, targets: list[Target], opts: TargetOptions,
                 apply: bool) -> int:
    json_out = (opts.format or "").lower() == "json"
    out = sys.stderr if json_out else sys.stdout  # JSON keeps stdout for the data
    hosts = await plan_all(change, targets, opts.parallel)
    _show_plan(change, hosts, opts, apply, out)
    unplanned = [h for h in hosts if h.state in ("unreachable", "error")]
    if not apply:
        return EXIT_FAILED if unplanned else EXIT_DONE
    rollout = Rollout(change, hosts, opts, out)
    try:
        return await _start(rollout, unplanned, len(targets) > 1)
    finally:
        if json_out:  # every ending of an --apply run gives its data, "not started" too
            print(json.dumps(rollout_data(rollout), indent=2))


async def _start(rollout: Rollout, unplanned: list[Host], several: bool) -> int:
    """The rollout of planned hosts, unless the budget, the plans or the operator stop it."""
    hosts, opts, out = rollout.hosts, rollout.opts, rollout.out
    if len(unplanned) > opts.max_failures:
        for host in hosts:
            if host.state == "change":
                host.state = "untouched"
                await _close(host.target)
        rollout.stopped = (f"not started: {len(unplanned)} hosts could not be planned, "
                           f"more than --max-failures {opts.max_failures}")
        out.write(f"\n{rollout.stopped}; nothing changed\n")
        return EXIT_FAILED
    if not any(h.state == "change" for h in hosts):
        out.write("nothing to change on any host\n")
        return EXIT_FAILED if unplanned else EXIT_DONE
    if several and not _confirm(f"\nchange the canary {opts.canary} host(s) now?", opts.yes):
        for host in hosts:
            await _close(host.target)
        rollout.stopped = "not confirmed"
        out.write("not confirmed: nothing changed\n")
        return EXIT_REFUSED
    out.write("\n")
    return await _apply(rollout)


def rollout_data(rollout: Rollout) -> dict[str, Any]:
    """The plans and where the rollout stands, as data (``--format json --apply``)."""
    hosts = {h.name: {"state": h.state, "why": h.why, "change": h.change_id or None,
                      "canary": h.canary} for h in rollout.hosts}
    return {**plan_data(rollout.change, rollout.hosts),
            "rollout": {"id": rollout.rollout_id or None, "stopped": rollout.stopped,
                        "failures": rollout.failures, "hosts": hosts}}


async def _single(change: FleetChange, target: Target, apply: bool) -> int:
    """One target: the plan and apply_plan, exactly as a one-target change always did."""
    async with target:
        plan = await change.plan(target)
        for note in plan.notes:
            print(note)
        await apply_plan(plan, apply)
    return EXIT_DONE


def roll_out(change: FleetChange, opts: TargetOptions, apply: bool,
             targets: list[Target] | None = None, fleet: bool = False) -> None:
    """Plan ``change`` on the targets the options name (or ``targets``), and roll it out
    when ``apply`` (see the module). Ends the task with its exit status.

    ``fleet`` runs even one target as a rollout (an undo of a rollout does).
    """
    from .errors import UsageError
    from .runner import TaskExit

    if opts.canary < 0 or opts.max_failures < 0:
        raise UsageError("--canary and --max-failures must be 0 or more")
    if opts.parallel < 1:
        raise UsageError("--parallel must be at least 1")
    chosen = targets if targets is not None else opts.targets()
    if len(chosen) == 1 and not fleet:
        raise TaskExit(asyncio.run(_single(change, chosen[0], apply)))
    if apply and len(chosen) > 1 and not opts.yes and not sys.stdin.isatty():
        print(f"error: refusing to change {len(chosen)} hosts without a confirmation: no "
              "terminal to ask on; add --yes (after a dry run)", file=sys.stderr)
        raise TaskExit(EXIT_REFUSED)
    raise TaskExit(asyncio.run(_fleet(change, chosen, opts, apply)))
