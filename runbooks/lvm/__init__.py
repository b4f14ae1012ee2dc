"""lvm: thin pool fill, raid and mirror health, missing PVs; growing a thin pool.

Tasks: ``lvm.health`` (read only: one vgs/lvs/pvs/lvmconfig script per host)
and ``lvm.extend-pool`` (dry run unless --apply; it cannot be undone, because
LVM does not shrink thin pools).
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from ..core.options import TargetOptions
from ..core.runner import collect_report, collection, finish, runbook_task
from ..core.targets import Target

if TYPE_CHECKING:
    from .plan import Growth

# LVM's own rule for VG and LV names: these characters, not starting with '-'.
NAME_RE = re.compile(r"^[A-Za-z0-9+_.][A-Za-z0-9+_.-]*$")
SIZE_RE = re.compile(r"^\+?(\d+(?:\.\d+)?)([bBsSkKmMgGtT]?)$")
# lvextend -L units are all binary; no unit means MiB.
UNIT_BYTES = {"b": 1, "s": 512, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "": 1024**2}

HEALTH_HELP = {
    "warn": "Thin pool data use in percent that is WARNING (default 80).",
    "crit": "Thin pool data use in percent that is CRITICAL (default 90).",
    "meta_warn": "Thin pool metadata use in percent that is WARNING (default 70; running "
    "out of metadata is worse than running out of data).",
    "meta_crit": "Thin pool metadata use in percent that is CRITICAL (default 85).",
    "vg": "Only these volume groups (comma separated). A name that matches no volume "
    "group is UNKNOWN, as is a host without any.",
}
EXTEND_HELP = {
    "pool": "The thin pool to grow, as VG/POOL.",
    "size": "How much to add to the pool's data area, as lvextend -L takes it: +1G, 512M, "
    "+2.5g (units b s k m g t, all binary; none means MiB).",
    "percent": "Instead of --size: grow the data area by this percentage of its size.",
    "metadata": "Also grow the pool's metadata area by this much (lvextend "
    "--poolmetadatasize), e.g. +64M.",
}


@runbook_task(help=HEALTH_HELP, label="LVM", targets="many")
def health(
    c,
    warn=80.0,
    crit=90.0,
    meta_warn=70.0,
    meta_crit=85.0,
    vg=None,
    *,
    opts: TargetOptions,
):
    """Thin pool fill, raid and mirror sync, LV health and missing PVs of every volume group.

    Runs vgs, lvs and pvs (JSON reports) and lvmconfig once per host (this
    host, --host over SSH or --container), as root. CRITICAL for a thin pool
    at --crit % data or --meta-crit % metadata, a pool that needs a metadata
    check or went read-only, a partial LV and a VG with missing PVs. WARNING
    at --warn / --meta-warn, for a raid or mirror that resyncs or found
    mismatches, a legacy mirror, and thin pools that dmeventd does not
    monitor while autoextend or monitoring is expected. Every VG and LV that
    is fine gets an OK line, so monitoring sees one service each. A host
    without volume groups, or a --vg that matches none, is UNKNOWN.
    """
    from ..core.errors import UsageError
    from .collect import lvm_state
    from .judge import Thresholds, judge_state

    limits = Thresholds(float(warn), float(crit), float(meta_warn), float(meta_crit))
    if limits.data_warn > limits.data_crit or limits.meta_warn > limits.meta_crit:
        raise UsageError("--warn must not be larger than --crit, nor --meta-warn than "
                         "--meta-crit")
    vgs = vg_names(vg)
    targets = opts.targets()

    async def work(target: Target):
        return judge_state(target.name, await lvm_state(target), limits, vgs)

    report = collect_report("lvm.health", "LVM health", "volume", targets, work, opts.parallel)
    judged = [f for f in report.findings if f.check == "lvm.health"]
    report.checked = len(judged)
    pools = [f.data["lv"] for f in judged if f.data.get("lv", {}).get("segtype") == "thin-pool"]
    report.metrics["thin_pools"] = len(pools)
    used = [p["data_percent"] for p in pools if p["data_percent"] is not None]
    if used:
        report.metrics["max_pool_data_percent"] = max(used)
    meta = [p["metadata_percent"] for p in pools if p["metadata_percent"] is not None]
    if meta:
        report.metrics["max_pool_metadata_percent"] = max(meta)
    finish(report, opts.format, opts.textfile_dir)


def vg_names(text: str | None) -> list[str] | None:
    """--vg as a list of VG names (None: every VG); UsageError for an empty or bad one."""
    from ..core.errors import UsageError
    from ..core.targets import split_list

    if text is None:
        return None
    names = split_list(text)
    bad = [n for n in names if not NAME_RE.match(n) or n in (".", "..")]
    if not names or bad:
        raise UsageError(f"--vg must name volume groups (letters, digits and +_.-, not "
                         f"starting with '-'): {text!r}")
    return names


def split_pool(text: str | None) -> tuple[str, str]:
    """VG/POOL checked against LVM's name rules; UsageError otherwise."""
    from ..core.errors import UsageError

    vg, sep, lv = (text or "").partition("/")
    for name in (vg, lv):
        if not sep or not NAME_RE.match(name) or name in (".", ".."):
            raise UsageError(f"--pool must be VG/POOL with names of letters, digits and "
                             f"+_.- (not starting with '-'): {text!r}")
    return vg, lv


def size_bytes(text: str, option: str) -> tuple[str, int]:
    """A size as lvextend takes it, returned with a leading '+' and in bytes."""
    from ..core.errors import UsageError

    match = SIZE_RE.match(text or "")
    if not match or float(match.group(1)) <= 0:
        raise UsageError(f"{option} must be a positive size such as +1G or 512M: {text!r}")
    number, unit = match.groups()
    return "+" + text.lstrip("+"), math.ceil(float(number) * UNIT_BYTES[unit.lower()])


@runbook_task(help=EXTEND_HELP, label="LVM", name="extend-pool", targets="fleet")
def extend_pool(
    c,
    pool=None,
    size=None,
    percent=None,
    metadata=None,
    apply=False,
    *,
    opts: TargetOptions,
):
    """Grow a thin pool's data (and optionally metadata) area from its VG's free extents.

    Reads the VG's free space first and refuses when the growth does not fit
    (vgextend the VG first). Shows how many extents it would take and what is
    left. This change has no undo: LVM cannot shrink a thin pool, and the
    journal records it as such. Dry run unless --apply. On several hosts, a
    rollout (see login.trim-motd): plans grouped, canary, waves, --max-failures.
    """
    from ..core.rollout import FleetChange, roll_out
    from .collect import lvm_state
    from .plan import plan_growth

    wanted = growth_request(pool, size, percent, metadata)

    async def plan(target: Target):
        summary, growth = plan_growth(target, await lvm_state(target), wanted)
        growth.notes.insert(0, summary)
        return growth

    # Not settled: a second plan would grow the pool again; each step checks itself.
    roll_out(FleetChange("lvm.extend-pool", plan, settled=False), opts, bool(apply))


def growth_request(pool: str | None, size: str | None, percent: Any,
                   metadata: str | None) -> Growth:
    """The options of lvm.extend-pool checked and turned into a Growth; UsageError if bad."""
    from ..core.errors import UsageError
    from .plan import Growth

    vg_name, pool_name = split_pool(pool)
    if size and percent:
        raise UsageError("give --size or --percent, not both")
    if not (size or percent or metadata):
        raise UsageError("give --size, --percent or --metadata: how much to add")
    data_arg, data_bytes = size_bytes(size, "--size") if size else ("", 0)
    meta_arg, meta_bytes = size_bytes(metadata, "--metadata") if metadata else ("", 0)
    return Growth(vg_name, pool_name, data_arg, data_bytes, _share(percent), meta_arg,
                  meta_bytes)


def _share(percent: Any) -> float | None:
    """--percent as a number above 0 and up to 1000 (None when not given)."""
    from ..core.errors import UsageError

    if percent is None:
        return None
    try:
        share = float(percent)
    except ValueError:
        share = -1.0
    if not 0 < share <= 1000:
        raise UsageError(f"--percent must be a number above 0 (up to 1000): {percent!r}")
    return share


ns = collection("lvm", health, extend_pool)
