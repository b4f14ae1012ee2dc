"""mounts: filesystem mount options that trade crash safety for speed.

Tasks: ``mounts.audit`` (read-only) and ``mounts.fix`` (dry-run unless --apply).
Page: docs/runbooks/mount-options.md. Layers: collect.py (read the target),
parse.py (text to entries), judge.py (entries to findings), plan.py (plans).
"""

from __future__ import annotations

import fnmatch

from ..core.options import TargetOptions
from ..core.runner import collect_report, collection, finish, runbook_task
from ..core.targets import Target

PROC_MOUNTS = "/proc/mounts"  # also in collect.py, which this module loads lazily


def _selected(mount_point: str, patterns: list[str]) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(mount_point, p) for p in patterns)


@runbook_task(
    help={
        "mounts_file": "Read this mount table instead of /proc/mounts: a saved copy "
        "(locally), or another path on each target. Saved copies are judged on their "
        "listed options only.",
        "mount_point": "Only judge mount points matching this glob, e.g. '/srv/*'. "
        "Repeatable.",
        "accept": "Accept a known risk as OK: MOUNTPOINT:OPTION, e.g. /backup:nobarrier "
        "for a disk behind a battery-backed cache; MOUNTPOINT may be a glob. Repeatable.",
        "max_commit": "Warn when ext4 commit= exceeds this many seconds (default 60).",
    },
    iterable=["accept", "mount_point"],
    label="MOUNTS",
    targets="many",
)
def audit(
    c,
    mounts_file=None,
    mount_point=None,
    accept=None,
    max_commit=60,
    *,
    opts: TargetOptions,
):
    """Flag ext3/ext4/XFS mounts whose options risk data on a crash or power cut.

    Reads /proc/mounts (or --mounts-file) on this host, on --host targets over
    SSH, or in --container targets, and reports per mount: barriers off
    (CRIT), data=writeback, errors=continue, noblock_validity and a long
    commit interval (WARN). For live ext4 mounts it also reads the kernel's
    effective options (/proc/fs/ext4/DEV/options), because /proc/mounts hides
    defaults such as a superblock that says "continue on errors". Every finding
    says why it matters and links its page. A --mount-point that matches no
    mount, or a table with no ext3/ext4/XFS mount, is UNKNOWN: nothing was judged.
    """
    from .collect import read_mounts
    from .judge import judge_mounts, judge_selection, parse_accepts

    accepted = parse_accepts(accept or [])
    patterns = list(mount_point or [])
    path = mounts_file or PROC_MOUNTS
    targets = opts.targets()

    async def work(target: Target):
        entries = await read_mounts(target, path)
        selected = [e for e in entries if _selected(e.mount_point, patterns)]
        return (judge_mounts(selected, target.name, accepted, int(max_commit))
                + judge_selection(entries, patterns, target.name, path))

    report = collect_report("mounts.audit", "Mount options", "mount", targets, work,
                            opts.parallel)
    report.metrics["mounts"] = len(report.subjects)
    finish(report, opts.format, opts.textfile_dir)


@runbook_task(
    help={
        "mount_point": "The mount point to fix, exactly as /proc/mounts shows it.",
        "max_commit": "Treat ext4 commit= above this many seconds as risky (default 60).",
    },
    label="MOUNTS",
    targets="fleet",
)
def fix(
    c,
    mount_point,
    apply=False,
    max_commit=60,
    *,
    opts: TargetOptions,
):
    """Undo risky ext4 options on a live mount with `mount -o remount` (dry run by default).

    Turns barriers back on, sets errors=remount-ro and block_validity, and
    shortens a long commit interval. Each applied remount is verified by
    judging the mount again, and recorded with its undo (`invoke changes.undo`).
    data=writeback cannot change while mounted: it is printed as a manual step,
    like the /etc/fstab edit that makes the fix permanent. On several hosts,
    a rollout (see login.trim-motd): plans grouped, canary, waves, --max-failures.
    """
    from ..core.rollout import FleetChange, roll_out
    from .collect import read_mounts
    from .plan import find_mount, plan_fix

    async def plan(target: Target):
        fix = plan_fix(find_mount(await read_mounts(target), mount_point), target, read_mounts,
                       int(max_commit))
        fix.idle = "no live fix needed"
        return fix

    roll_out(FleetChange("mounts.fix", plan), opts, bool(apply))


ns = collection("mounts", audit, fix)
