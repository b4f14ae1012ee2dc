"""changes: the journal of what runbooks changed with --apply, and how to undo it.

The tasks of the `changes` collection; the journal itself is runbooks.core.changes.
"""

from __future__ import annotations

from .core.runner import collection, runbook_task


@runbook_task(label="CHANGES", name="list")
def list_(c):
    """List recorded changes: id, time, runbook, target, steps, and whether undone."""
    from .core.changes import journal_path, read_journal

    entries = read_journal()
    if not entries:
        print(f"no changes recorded ({journal_path()})")
        return
    for entry in entries:
        state = f"undone {entry['undone']}" if entry.get("undone") else "applied"
        print(f"{entry['id']:>4}  {entry['time']}  {entry['runbook']:<12} "
              f"{entry['target_kind']}:{entry['target']}  {state}")
        for step in entry["steps"]:
            print(f"        - {step['description']}")


@runbook_task(
    label="CHANGES",
    help={
        "change_id": "The change to undo (see `invoke changes.list`).",
        "known_hosts": "known_hosts file for an SSH target (default: the one the change "
        "was made with).",
        "identity": "SSH private key for an SSH target (default: the one the change was "
        "made with).",
    },
)
def undo(c, change_id, apply=False, known_hosts=None, identity=None):
    """Reverse a recorded change, last step first (dry run unless --apply).

    Runs the undo command of every step of the change on the target it was
    made on, then marks the change as undone in the journal. An SSH target is
    reached as it was then: the address, port and user the change used (for
    an inventory host, the inventory's, not its alias), with the same
    known_hosts, key and ssh_config files; its host key is verified as for
    any other run.
    """
    import asyncio

    from .core.changes import Plan, Step, apply_plan, mark_undone, read_journal, target_of
    from .core.errors import RunbookError, UsageError

    if not str(change_id).isdigit():
        raise UsageError(f"change id must be a number, not {change_id!r}")
    wanted = int(change_id)
    entry = next((e for e in read_journal() if e["id"] == wanted), None)
    if entry is None:
        raise RunbookError(f"no recorded change {wanted} (see invoke changes.list)")
    if entry.get("undone"):
        raise RunbookError(f"change {wanted} was already undone at {entry['undone']}")
    target = target_of(entry, known_hosts=known_hosts, identity=identity)
    plan = Plan(f"undo of change {wanted}", target)
    for step in reversed(entry["steps"]):
        if not step.get("undo"):
            why = f" ({step['no_undo']})" if step.get("no_undo") else ""
            plan.manual.append(f"cannot undo automatically: {step['description']}{why}")
            continue
        plan.add(Step(f"undo: {step['description']}", step["undo"], step["argv"]))

    async def run() -> int:
        async with target:
            return await apply_plan(plan, apply)

    if asyncio.run(run()):
        mark_undone(wanted)
        print(f"change {wanted} marked as undone")


ns = collection("changes", list_, undo)
