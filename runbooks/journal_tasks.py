"""changes: the journal of what runbooks changed with --apply, and how to undo it.

The tasks of the `changes` collection; the journal itself is runbooks.core.changes,
rollouts over many hosts runbooks.core.rollout.
"""

from __future__ import annotations

from typing import Any

from .core.options import DEFAULT_CANARY, DEFAULT_MAX_FAILURES
from .core.runner import COMMON_HELP, collection, runbook_task
from .core.targets import DEFAULT_PARALLEL


def _state(entry: dict) -> str:
    return f"undone {entry['undone']}" if entry.get("undone") else "applied"


HOST_HELP = {
    "host": "Read these hosts' own record of what was done to them instead of this "
    "machine's journal: SSH target(s), [user@]host[:port], comma separated.",
    "hosts": COMMON_HELP["hosts"],
    "limit": COMMON_HELP["limit"],
    "container": "Read these containers' own record instead of this machine's journal.",
    "known_hosts": COMMON_HELP["known_hosts"],
    "identity": COMMON_HELP["identity"],
}


def _host_options(task: str, values: dict[str, Any]) -> Any:
    """The target options of a task that reads (or undoes from) the hosts' own record;
    None when none was given: the task works on this machine's journal then."""
    from .core.options import TargetOptions

    opts = TargetOptions.build(task, values)
    return opts if opts.host or opts.container or opts.hosts or opts.limit else None


def _option_for(target: Any, opts: Any) -> str:
    """How to name ``target`` again on the command line, as it was named this time."""
    if target.kind == "container":
        return f"--container {target.name}"
    return f"--limit {target.name}" if opts.hosts else f"--host {target.name}"


@runbook_task(label="CHANGES", name="list", help=HOST_HELP)
def list_(c, host=None, hosts=None, limit=None, container=None, known_hosts=None,
          identity=None):
    """List recorded changes: id, time, runbook, target, steps, and whether undone.

    Without target options: this machine's journal. A rollout is listed once,
    with each of its hosts: its state in the rollout (done, failed, not
    reached...) and the id of the change made on it.

    With --host, --hosts/--limit or --container: what those hosts keep about
    themselves (/var/log/breaking-point/changes.jsonl on each, whoever made the
    change and from wherever): every run's time, runbook, state (done, failed,
    rolled back; undone once an undo completed), the user and machine it came
    from, its steps with their undo, and the command that undoes it.
    """
    from .core.changes import journal_path, read_journal

    opts = _host_options("changes.list", {"host": host, "hosts": hosts, "limit": limit,
                                          "container": container,
                                          "known_hosts": known_hosts, "identity": identity})
    if opts is not None:
        _list_hosts(opts)
        return
    entries = read_journal()
    if not entries:
        print(f"no changes recorded ({journal_path()})")
        return
    in_rollout = {e["id"]: e for e in entries if e.get("rollout")}
    for entry in entries:
        if entry.get("rollout") and entry["rollout"] in {e["id"] for e in entries}:
            continue  # shown under its rollout
        if entry["target_kind"] == "rollout":
            _print_rollout(entry, in_rollout)
            continue
        print(f"{entry['id']:>4}  {entry['time']}  {entry['runbook']:<12} "
              f"{entry['target_kind']}:{entry['target']}  {_state(entry)}")
        for step in entry["steps"]:
            print(f"        - {step['description']}")


def _list_hosts(opts: Any) -> None:
    """Print each target's own record; an unreadable host is one line and exit status 3."""
    import asyncio
    import sys

    from .core import hostrecord
    from .core.runner import TaskExit
    from .core.targets import run_on_targets

    targets = opts.targets()
    outcomes = asyncio.run(run_on_targets(targets, hostrecord.read, parallel=opts.parallel))
    failed = False
    for target, found in outcomes:
        if isinstance(found, BaseException):
            failed = True
            why = str(found) if isinstance(found, Exception) else type(found).__name__
            print(f"error: {why}", file=sys.stderr)
            continue
        for number, _ in found.damaged:
            print(f"warning: {target.name}:{found.path}:{number}: damaged record line, "
                  "skipped (kept in the file as it is); the other records are usable",
                  file=sys.stderr)
        for line in hostrecord.lines(target.name, found, _option_for(target, opts)):
            print(line)
    if failed:
        raise TaskExit(3)


def _print_rollout(entry: dict, changes: dict) -> None:
    hosts = entry.get("hosts") if isinstance(entry.get("hosts"), dict) else {}
    state = _state(entry) if entry.get("undone") else str(entry.get("state", "?"))
    print(f"{entry['id']:>4}  {entry['time']}  {entry['runbook']:<12} "
          f"rollout:{len(hosts)} hosts  {state}")
    for name, info in hosts.items():
        info = info if isinstance(info, dict) else {"state": info}
        change = changes.get(info.get("change"))
        line = f"        {name:<12} {info.get('state', '?')}"
        if change is not None:
            line += f", change {change['id']} {_state(change)}"
        print(line)


@runbook_task(
    label="CHANGES",
    help={
        "change_id": "The change or rollout to undo (see `invoke changes.list`); with "
        "--host, --container or --limit, a record of the host's own (see `invoke "
        "changes.list --host HOST`), or `last`.",
        "known_hosts": "known_hosts file for an SSH target (default: the one the change "
        "was made with).",
        "identity": "SSH private key for an SSH target (default: the one the change was "
        "made with).",
        "limit": "Of a rollout, undo only these hosts (names or Ansible patterns, e.g. "
        "host0*,!host03). With a host record's id: the inventory host to undo it on.",
        **{k: COMMON_HELP[k] for k in ("canary", "max_failures", "parallel", "yes", "format")},
        "host": "Undo from this host's own record instead of this machine's journal: "
        "CHANGE_ID is then a record id from `invoke changes.list --host HOST`, or `last`.",
        "hosts": COMMON_HELP["hosts"] + " With --limit: the host whose own record to undo "
        "from.",
        "container": "Undo from this container's own record (CHANGE_ID: a record id, or "
        "`last`).",
    },
)
def undo(c, change_id, apply=False, known_hosts=None, identity=None, limit=None,
         canary=DEFAULT_CANARY, parallel=DEFAULT_PARALLEL, max_failures=DEFAULT_MAX_FAILURES,
         yes=False, format=None, host=None, hosts=None, container=None):
    """Reverse a recorded change, last step first (dry run unless --apply).

    Runs the undo command of every step of the change on the target it was
    made on, then marks the change as undone in the journal. An SSH target is
    reached as it was then: the address, port and user the change used (for
    an inventory host, the inventory's, not its alias), with the same
    known_hosts, key and ssh_config files; its host key is verified as for
    any other run. The undo of a rollout is itself a rollout over the hosts it
    changed (--limit: some of them), with the same rules: a dry run unless
    --apply, a canary, waves, --max-failures and the confirmations. A change
    that its host's own record says was undone meanwhile (from another
    machine) is refused.

    From another machine, or without the journal, undo from the host's own
    record: `invoke changes.undo RECORD --host HOST` (or --container, or
    --hosts @INVENTORY --limit HOST), RECORD being an id that `changes.list
    --host HOST` shows, or `last` for the host's newest record still in place.
    The same undo runs, and the undo's own record on the host marks the record
    as undone. A record whose steps have no undo (a grown thin pool), one
    already undone and one a failed rollout rolled back are refused, in one
    line that says why.
    """
    from .core.errors import UsageError

    if not str(change_id).isdigit():  # a host record's id: undo from the host's record
        opts = _host_options("changes.undo", {
            "host": host, "hosts": hosts, "limit": limit, "container": container,
            "known_hosts": known_hosts, "identity": identity})
        if opts is None:
            raise UsageError(f"{change_id!r} is no change id of this machine's journal (a "
                             "number); a host record's id needs --host, --container or "
                             "--hosts @INVENTORY --limit HOST")
        _undo_from_host(opts, str(change_id), bool(apply))
        return
    if host or container or hosts:
        raise UsageError("--host, --container and --hosts undo from a host's own record: "
                         "give its record id (see invoke changes.list --host HOST), not "
                         f"change {change_id} of this machine's journal")
    rollout = {"limit": limit, "canary": canary, "parallel": parallel,
               "max_failures": max_failures, "yes": yes, "format": format}
    _undo_from_journal(int(change_id), bool(apply), known_hosts, identity, rollout)


def _undo_from_journal(wanted: int, apply: bool, known_hosts: str | None,
                       identity: str | None, rollout: dict[str, Any]) -> None:
    """Undo change (or rollout) ``wanted`` of this machine's journal (see ``undo``)."""
    import asyncio

    from .core.changes import apply_plan, mark_undone, read_journal, target_of
    from .core.errors import RunbookError, UsageError

    entries = read_journal()
    entry = next((e for e in entries if e["id"] == wanted), None)
    if entry is None:
        raise RunbookError(f"no recorded change {wanted} (see invoke changes.list)")
    if entry.get("undone"):
        raise RunbookError(f"change {wanted} was already undone at {entry['undone']}")
    if entry["target_kind"] == "rollout":
        from .core.options import TargetOptions

        opts = TargetOptions.build("changes.undo", rollout)
        _undo_rollout(entry, entries, opts, apply, known_hosts, identity)
        return
    if rollout["limit"] is not None:
        raise UsageError(f"--limit applies to a rollout; change {wanted} is one change")
    target = target_of(entry, known_hosts=known_hosts, identity=identity)
    plan = undo_plan(entry, target)

    async def run() -> int:
        async with target:
            await _not_undone_elsewhere(entry, target)
            return await apply_plan(plan, apply)

    if asyncio.run(run()):
        mark_undone(wanted)
        print(f"change {wanted} marked as undone")


async def _not_undone_elsewhere(entry: dict, target: Any) -> None:
    """Refuse to undo a change that its host's own record says was undone meanwhile
    (from another machine). A record that cannot be read is no reason to refuse: the
    journal is this undo's source, and the plan shows what will run."""
    from .core import hostrecord
    from .core.errors import RunbookError, TargetError

    if not entry.get("host_record"):
        return
    try:
        found = await hostrecord.read(target)
    except TargetError:  # unreachable: the undo could not run either
        raise
    except RunbookError:
        return
    undo = found.undone_by().get(entry["host_record"])
    if undo is not None:
        by = undo.get("by") if isinstance(undo.get("by"), dict) else {}
        raise RunbookError(f"change {entry['id']} was undone on {target.name} at {undo['time']} "
                           f"by {by.get('user', '?')}@{by.get('host', '?')} (its record "
                           f"{undo['id']} there); nothing to undo")


def _undo_from_host(opts: Any, wanted: str, apply: bool) -> None:
    """Undo a record of the target's own record (see ``undo``)."""
    import asyncio

    from .core import hostrecord
    from .core.changes import apply_plan
    from .core.errors import RunbookError, UsageError

    if wanted != hostrecord.LAST and not hostrecord.RECORD_ID.match(wanted):
        raise UsageError(f"with a target option, the id is a host record's (e.g. "
                         f"20261201T022000Z-3f9a1c) or `last`, not {wanted!r}")
    target = opts.one_target()

    async def run() -> None:
        async with target:
            found = await hostrecord.read(target)
            record = found.find(wanted)
            if record is None:
                raise RunbookError(f"{target.name}: no record {wanted} in {found.path} (see "
                                   f"invoke changes.list {_option_for(target, opts)})")
            blocked = hostrecord.why_not_undoable(record, found.undone_by())
            if blocked:
                raise RunbookError(f"{target.name}: record {record['id']} "
                                   f"({record['runbook']}) cannot be undone: {blocked}")
            plan = undo_plan(record, target, f"undo of record {record['id']}")
            plan.undoes = record["id"]
            await apply_plan(plan, apply)

    asyncio.run(run())


def undo_plan(entry: dict, target: Any, name: str = "") -> Any:
    """The plan that reverses a journalled change (or a host record, see core.hostrecord):
    every step's undo, last first; its run on the host marks the host record undone."""
    from .core.changes import Plan, Step

    plan = Plan(name or f"undo of change {entry['id']}", target,
                undoes=entry.get("host_record") or "")
    for step in reversed(entry["steps"]):
        if not step.get("undo"):
            why = f" ({step['no_undo']})" if step.get("no_undo") else ""
            plan.manual.append(f"cannot undo automatically: {step['description']}{why}")
            continue
        plan.add(Step(f"undo: {step['description']}", step["undo"], step["argv"]))
    return plan


def _undo_rollout(rollout: dict, entries: list[dict], opts: Any, apply: bool,
                  known_hosts: str | None, identity: str | None) -> None:
    """Undo every host change of a rollout (or the --limit ones) as a rollout itself."""
    from .core.changes import _now, mark_undone, target_of, update_entry
    from .core.errors import RunbookError
    from .core.inventory import Inventory, select_hosts
    from .core.rollout import FleetChange, roll_out

    changes = [e for e in entries if e.get("rollout") == rollout["id"] and not e.get("undone")]
    if opts.limit is not None and changes:
        names = Inventory(f"rollout {rollout['id']}")
        for change in changes:
            names.host(change["target"])
        chosen = set(select_hosts(names, opts.limit))
        changes = [e for e in changes if e["target"] in chosen]
    if not changes:
        raise RunbookError(f"rollout {rollout['id']}: no applied host change left to undo")
    targets = [target_of(e, known_hosts, identity) for e in changes]
    change_of = {id(t): e for t, e in zip(targets, changes, strict=True)}
    left = {e["id"] for e in entries if e.get("rollout") == rollout["id"]
            and not e.get("undone")}

    async def plan(target: Any) -> Any:
        return undo_plan(change_of[id(target)], target)

    def after(host: Any) -> None:  # a host undone: its change, and the rollout when last
        done = change_of[id(host.target)]["id"]
        mark_undone(done)
        left.discard(done)
        if not left:
            update_entry(rollout["id"], undone=_now())

    change = FleetChange(f"undo of rollout {rollout['id']}", plan, settled=False, after=after,
                         extra={"undoes": rollout["id"]})
    roll_out(change, opts, apply, targets=targets, fleet=True)


ns = collection("changes", list_, undo)
