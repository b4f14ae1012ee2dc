"""What can be fixed on a live mount, and what needs a maintenance window.

ext4 changes barriers, ``errors=`` behaviour, block validity checks and the
commit interval on ``mount -o remount``; it refuses to change the data mode
(``data=writeback`` -> ``data=ordered``) while mounted, so that stays a
manual step. Every live step carries the remount that reverses it.
"""

from __future__ import annotations

from ..core.changes import Plan, Step
from ..core.errors import RunbookError
from ..core.targets import Target
from .judge import DEFAULT_MAX_COMMIT, EXT_TYPES
from .parse import MountEntry, parse_mounts


def find_mount(entries: list[MountEntry], mount_point: str) -> MountEntry:
    """The last (topmost) mount at ``mount_point``; RunbookError if there is none."""
    matches = [e for e in entries if e.mount_point == mount_point]
    if not matches:
        raise RunbookError(f"{mount_point!r} is not a mount point")
    return matches[-1]


def _remount(mount_point: str, option: str) -> list[str]:
    return ["mount", "-o", f"remount,{option}", mount_point]


def _verifier(mount_point: str, unwanted: str, mounts_path: str):
    async def verify(target: Target) -> bool:
        entry = find_mount(parse_mounts(await target.read_file(mounts_path)), mount_point)
        return unwanted not in entry.options

    return verify


def plan_fix(
    entry: MountEntry,
    target: Target,
    mounts_path: str = "/proc/mounts",
    max_commit: int = DEFAULT_MAX_COMMIT,
) -> Plan:
    """The live remounts that remove risky options from ``entry``, and the manual rest."""
    mp = entry.mount_point
    plan = Plan("mounts.fix", target)
    opts = entry.option_map()
    if entry.fstype == "xfs" and "nobarrier" in opts:
        plan.manual.append(
            f"{mp}: XFS nobarrier only works on kernels before 4.19; remove it from "
            "/etc/fstab and plan the kernel upgrade (barriers cannot be switched live)"
        )
    if entry.fstype not in EXT_TYPES:
        return plan
    if "nobarrier" in opts or opts.get("barrier") == "0":
        plan.add(Step(f"turn write barriers back on for {mp}",
                      _remount(mp, "barrier=1"), _remount(mp, "barrier=0"),
                      _verifier(mp, "nobarrier", mounts_path)))
    if opts.get("errors") == "continue":
        plan.add(Step(f"make {mp} go read-only on detected corruption",
                      _remount(mp, "errors=remount-ro"), _remount(mp, "errors=continue"),
                      _verifier(mp, "errors=continue", mounts_path)))
    if "noblock_validity" in opts:
        plan.add(Step(f"check allocations against metadata on {mp}",
                      _remount(mp, "block_validity"), _remount(mp, "noblock_validity"),
                      _verifier(mp, "noblock_validity", mounts_path)))
    commit = opts.get("commit")
    if commit and commit.isdigit() and int(commit) > max_commit:
        plan.add(Step(f"commit the journal every 5 s on {mp} (was {commit} s)",
                      _remount(mp, "commit=5"), _remount(mp, f"commit={commit}"),
                      _verifier(mp, f"commit={commit}", mounts_path)))
    if opts.get("data") == "writeback":
        plan.manual.append(
            f"{mp}: data=writeback cannot be changed while mounted; in a maintenance window "
            f"unmount it and mount it with data=ordered, and check that neither /etc/fstab nor "
            f"the superblock (tune2fs -l {entry.device} | grep 'mount options') brings it back"
        )
    if plan.steps:
        plan.manual.append(
            f"{mp}: a remount lasts until the next mount; remove the risky options from "
            "/etc/fstab (or the NAS firmware's settings) to make the fix permanent"
        )
    return plan
