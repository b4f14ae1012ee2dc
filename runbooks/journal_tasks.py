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


@runbook_task(label="CHANGES", name="list")
def list_(c):
    """List recorded changes: id, time, runbook, target, steps, and whether undone.

    A rollout is listed once, with each of its hosts: its state in the rollout
    (done, failed, not reached...) and the id of the change made on it.
    """
    from .core.changes import journal_path, read_journal

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
        "change_id": "The change or rollout to undo (see `invoke changes.list`).",
        "known_hosts": "known_hosts file for an SSH target (default: the one the change "
        "was made with).",
        "identity": "SSH private key for an SSH target (default: the one the change was "
        "made with).",
        "limit": "Of a rollout, undo only these hosts (names or Ansible patterns, e.g. "
        "host0*,!host03).",
        **{k: COMMON_HELP[k] for k in ("canary", "max_failures", "parallel", "yes", "format")},
    },
)
def undo(c, change_id, apply=False, known_hosts=None, identity=None, limit=None,
         canary=DEFAULT_CANARY, parallel=DEFAULT_PARALLEL, max_failures=DEFAULT_MAX_FAILURES,
         yes=False, format=None):
    """Reverse a recorded change, last step first (dry run unless --apply).

    Runs the undo command of every step of the change on the target it was
    made on, then marks the change as undone in the journal. An SSH target is
    reached as it was then: the address, port and user the change used (for
    an inventory host, the inventory's, not its alias), with the same
    known_hosts, key and ssh_config files; its host key is verified as for
    any other run. The undo of a rollout is itself a rollout over the hosts it
    changed (--limit: some of them), with the same rules: a dry run unless
    --apply, a canary, waves, --max-failures and the confirmations.
    """
    import asyncio

    from .core.changes import apply_plan, mark_undone, read_journal, target_of
    from .core.errors import RunbookError, UsageError

    if not str(change_id).isdigit():
        raise UsageError(f"change id must be a number, not {change_id!r}")
    wanted = int(change_id)
    entries = read_journal()
    entry = next((e for e in entries if e["id"] == wanted), None)
    if entry is None:
        raise RunbookError(f"no recorded change {wanted} (see invoke changes.list)")
    if entry.get("undone"):
        raise RunbookError(f"change {wanted} was already undone at {entry['undone']}")
    if entry["target_kind"] == "rollout":
        from .core.options import TargetOptions

        opts = TargetOptions.build("changes.undo", {
            "limit": limit, "canary": canary, "parallel": parallel,
            "max_failures": max_failures, "yes": yes, "format": format})
        _undo_rollout(entry, entries, opts, bool(apply), known_hosts, identity)
        return
    if limit is not None:
        raise UsageError(f"--limit applies to a rollout; change {wanted} is one change")
    target = target_of(entry, known_hosts=known_hosts, identity=identity)
    plan = undo_plan(entry, target)

    async def run() -> int:
        async with target:
            return await apply_plan(plan, apply)

    if asyncio.run(run()):
        mark_undone(wanted)
        print(f"change {wanted} marked as undone")


def undo_plan(entry: dict, target: Any) -> Any:
    """The plan that reverses a journalled change: every step's undo, last first."""
    from .core.changes import Plan, Step

    plan = Plan(f"undo of change {entry['id']}", target)
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
