"""mounts: filesystem mount options that trade crash safety for speed.

Tasks: ``mounts.audit`` (read-only) and ``mounts.fix`` (dry-run unless --apply).
Page: docs/runbooks/mount-options.md.
"""

from __future__ import annotations

from invoke import Collection

from ..core.runner import collect_report, finish, runbook_task, targets_from
from ..core.targets import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_PARALLEL,
    Target,
)

PROC_MOUNTS = "/proc/mounts"


@runbook_task(
    help={
        "mounts_file": "Read this mount table instead of /proc/mounts: a saved copy "
        "(locally), or another path on each target.",
        "accept": "Accept a known risk as OK: MOUNTPOINT:OPTION, e.g. /backup:nobarrier "
        "for a disk behind a battery-backed cache. Repeatable.",
        "max_commit": "Warn when ext4 commit= exceeds this many seconds (default 60).",
    },
    iterable=["accept"],
    label="MOUNTS",
)
def audit(
    c,
    mounts_file=None,
    host=None,
    container=None,
    accept=None,
    max_commit=60,
    format=None,
    known_hosts=None,
    identity=None,
    connect_timeout=DEFAULT_CONNECT_TIMEOUT,
    timeout=DEFAULT_COMMAND_TIMEOUT,
    parallel=DEFAULT_PARALLEL,
):
    """Flag ext3/ext4/XFS mounts whose options risk data on a crash or power cut.

    Reads /proc/mounts (or --mounts-file) on this host, on --host targets over
    SSH, or in --container targets, and reports per mount: barriers off
    (CRIT), data=writeback, errors=continue, noblock_validity and a long
    commit interval (WARN). Every finding says why it matters and links its page.
    """
    from .judge import judge_mounts, parse_accepts
    from .parse import parse_mounts

    accepted = parse_accepts(accept or [])
    path = mounts_file or PROC_MOUNTS
    options = dict(host=host, container=container, known_hosts=known_hosts,
                   identity=identity, connect_timeout=connect_timeout, timeout=timeout)
    targets = targets_from(options)

    async def work(target: Target):
        text = await target.read_file(path)
        try:
            entries = parse_mounts(text)
        except Exception as exc:
            raise type(exc)(f"{target.name}: {path}: {exc}") from None
        return judge_mounts(entries, target.name, accepted, int(max_commit))

    report = collect_report("mounts.audit", "Mount options", "mount", targets, work,
                            int(parallel))
    report.metrics["mounts"] = len(report.subjects)
    finish(report, format)


@runbook_task(
    help={
        "mount_point": "The mount point to fix, exactly as /proc/mounts shows it.",
        "max_commit": "Treat ext4 commit= above this many seconds as risky (default 60).",
    },
    label="MOUNTS",
)
def fix(
    c,
    mount_point,
    apply=False,
    host=None,
    container=None,
    max_commit=60,
    known_hosts=None,
    identity=None,
    connect_timeout=DEFAULT_CONNECT_TIMEOUT,
    timeout=DEFAULT_COMMAND_TIMEOUT,
):
    """Undo risky ext4 options on a live mount with `mount -o remount` (dry run by default).

    Turns barriers back on, sets errors=remount-ro and block_validity, and
    shortens a long commit interval. Each applied remount is checked in
    /proc/mounts afterwards and recorded with its undo (`invoke changes.undo`).
    data=writeback cannot change while mounted: it is printed as a manual step,
    like the /etc/fstab edit that makes the fix permanent.
    """
    import asyncio

    from ..core.changes import apply_plan
    from ..core.errors import UsageError
    from .parse import parse_mounts
    from .remedy import find_mount, plan_fix

    options = dict(host=host, container=container, known_hosts=known_hosts,
                   identity=identity, connect_timeout=connect_timeout, timeout=timeout)
    targets = targets_from(options)
    if len(targets) != 1:
        raise UsageError("mounts.fix changes one target at a time; give one --host or --container")
    target = targets[0]

    async def run() -> int:
        async with target:
            entry = find_mount(parse_mounts(await target.read_file(PROC_MOUNTS)), mount_point)
            plan = plan_fix(entry, target, PROC_MOUNTS, int(max_commit))
            return await apply_plan(plan, apply)

    asyncio.run(run())


ns = Collection("mounts")
ns.add_task(audit)
ns.add_task(fix)
