"""mounts: filesystem mount options that trade crash safety for speed.

Tasks: ``mounts.audit`` (read-only).
Page: docs/runbooks/mount-options.md.
"""

from __future__ import annotations

from invoke import Collection

from ..core.runner import runbook_task, collect_report, finish, targets_from
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
    format=None,  # noqa: A002 - the option users type is --format
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


ns = Collection("mounts")
ns.add_task(audit)
