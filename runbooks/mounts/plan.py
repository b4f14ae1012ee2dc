"""What can be fixed on a live mount, and what needs a maintenance window.

ext4 changes barriers, ``errors=`` behaviour, block validity checks and the
commit interval on ``mount -o remount``; it refuses to change the data mode
(``data=writeback`` -> ``data=ordered``) while mounted, so that stays a
manual step. Every live step carries the remount that reverses it, and is
verified by judging the mount again: the rule that flagged it must be quiet.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ..core.changes import Plan, Step, Verifier
from ..core.errors import RunbookError
from ..core.targets import Target
from .judge import DEFAULT_MAX_COMMIT, EXT_TYPES, JOURNALED_TYPES, RULES, Rule
from .parse import MountEntry

Reader = Callable[[Target], Awaitable[list[MountEntry]]]

# rule key -> (what the step does, option that fixes it, option that undoes it)
LIVE_FIXES: dict[str, tuple[str, str, Callable[[str], str]]] = {
    "nobarrier": ("turn write barriers back on for {mp}", "barrier=1", lambda _: "barrier=0"),
    "errors=continue": ("make {mp} go read-only when corruption is detected",
                        "errors=remount-ro", lambda _: "errors=continue"),
    "noblock_validity": ("check allocations against metadata on {mp}", "block_validity",
                         lambda _: "noblock_validity"),
    "commit": ("commit the journal of {mp} every 5 s", "commit=5", lambda old: old),
}


def find_mount(entries: list[MountEntry], mount_point: str) -> MountEntry:
    """The last (topmost) mount at ``mount_point``; RunbookError if there is none."""
    matches = [e for e in entries if e.mount_point == mount_point]
    if not matches:
        raise RunbookError(f"{mount_point!r} is not a mount point")
    return matches[-1]


def _remount(mount_point: str, option: str) -> list[str]:
    return ["mount", "-o", f"remount,{option}", mount_point]


def _quiet_after(rule: Rule, mount_point: str, read: Reader, max_commit: int) -> Verifier:
    async def verify(target: Target) -> bool:
        entry = find_mount(await read(target), mount_point)
        return rule.match(entry, max_commit) is None

    return verify


def plan_fix(
    entry: MountEntry, target: Target, read: Reader, max_commit: int = DEFAULT_MAX_COMMIT
) -> Plan:
    """Live remounts that silence each risky-option rule on ``entry``, and the manual rest.

    ``read`` is the collect function used to verify each step on the target.
    """
    mp = entry.mount_point
    if entry.fstype not in JOURNALED_TYPES:
        # Not "nothing to change": the rules never looked at this filesystem.
        raise RunbookError(f"{mp!r} is {entry.fstype}: mounts.fix only judges and changes "
                           "ext3, ext4 and XFS mounts")
    plan = Plan("mounts.fix", target)
    for rule in RULES:
        if entry.fstype not in rule.fstypes:
            continue
        found = rule.match(entry, max_commit)
        if found is None:
            continue
        if entry.fstype in EXT_TYPES and rule.key in LIVE_FIXES:
            what, fix, undo = LIVE_FIXES[rule.key]
            plan.add(Step(f"{what.format(mp=mp)} (was {found})", _remount(mp, fix),
                          _remount(mp, undo(found)), _quiet_after(rule, mp, read, max_commit)))
        elif rule.key == "data=writeback":
            plan.manual.append(
                f"{mp}: data=writeback cannot be changed while mounted; in a maintenance "
                f"window unmount it and mount it with data=ordered, and check that neither "
                f"/etc/fstab nor the superblock (tune2fs -l {entry.device} | grep 'mount "
                "options') brings it back"
            )
        else:  # XFS nobarrier
            plan.manual.append(
                f"{mp}: XFS nobarrier only works on kernels before 4.19; remove it from "
                "/etc/fstab and plan the kernel upgrade (barriers cannot be switched live)"
            )
    if plan.steps:
        plan.manual.append(
            f"{mp}: a remount lasts until the next mount; fix /etc/fstab (or the NAS "
            "firmware's settings, or the superblock default with tune2fs) to make it permanent"
        )
    return plan
