"""lvm: thin pool fill, raid and mirror health, missing PVs; growing a thin pool.

Tasks: ``lvm.health`` (read only: one vgs/lvs/pvs/lvmconfig script per host)
and ``lvm.extend-pool`` (dry run unless --apply; it cannot be undone, because
LVM does not shrink thin pools).
"""

from __future__ import annotations

import math
import re

from invoke import Collection

from ..core.runner import collect_report, finish, one_target_from, runbook_task, targets_from
from ..core.targets import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_PARALLEL,
    Target,
)

# LVM's own rule for VG and LV names: these characters, not starting with '-'.
NAME_RE = re.compile(r"^[A-Za-z0-9+_.][A-Za-z0-9+_.-]*$")
SIZE_RE = re.compile(r"^\+?(\d+(?:\.\d+)?)([bBsSkKmMgGtT]?)$")
# lvextend -L units are all binary; no unit means MiB.
UNIT_BYTES = {"b": 1, "s": 512, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "": 1024**2}
IRREVERSIBLE = "no undo: thin pools cannot be shrunk"
NO_UNDO_NOTE = ("this change cannot be undone: LVM cannot shrink a thin pool (lvreduce "
                "refuses thin pools), so the added space stays with the pool for good")

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


@runbook_task(help=HEALTH_HELP, label="LVM")
def health(
    c,
    warn=80.0,
    crit=90.0,
    meta_warn=70.0,
    meta_crit=85.0,
    vg=None,
    host=None,
    hosts=None,
    limit=None,
    container=None,
    format=None,
    known_hosts=None,
    accept_new=False,
    identity=None,
    connect_timeout=DEFAULT_CONNECT_TIMEOUT,
    timeout=DEFAULT_COMMAND_TIMEOUT,
    parallel=DEFAULT_PARALLEL,
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
    targets = targets_from(host=host, hosts=hosts, limit=limit, container=container,
                           known_hosts=known_hosts, accept_new=accept_new, identity=identity,
                           connect_timeout=connect_timeout, timeout=timeout)

    async def work(target: Target):
        return judge_state(target.name, await lvm_state(target), limits, vgs)

    report = collect_report("lvm.health", "LVM health", "volume", targets, work, int(parallel))
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
    finish(report, format)


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


def _extents(nbytes: int, extent_size: int) -> int:
    return math.ceil(nbytes / extent_size) if extent_size else 0


@runbook_task(help=EXTEND_HELP, label="LVM", name="extend-pool")
def extend_pool(
    c,
    pool=None,
    size=None,
    percent=None,
    metadata=None,
    apply=False,
    host=None,
    hosts=None,
    limit=None,
    container=None,
    known_hosts=None,
    accept_new=False,
    identity=None,
    connect_timeout=DEFAULT_CONNECT_TIMEOUT,
    timeout=DEFAULT_COMMAND_TIMEOUT,
):
    """Grow a thin pool's data (and optionally metadata) area from its VG's free extents.

    Reads the VG's free space first and refuses when the growth does not fit
    (vgextend the VG first). Shows how many extents it would take and what is
    left. This change has no undo: LVM cannot shrink a thin pool, and the
    journal records it as such. Dry run unless --apply.
    """
    import asyncio

    from ..core.changes import Plan, Step, apply_plan
    from ..core.errors import RunbookError, UsageError
    from .collect import lvm_state
    from .judge import size_text

    vg_name, pool_name = split_pool(pool)
    if size and percent:
        raise UsageError("give --size or --percent, not both")
    if not (size or percent or metadata):
        raise UsageError("give --size, --percent or --metadata: how much to add")
    data_arg, data_bytes = size_bytes(size, "--size") if size else ("", 0)
    meta_arg, meta_bytes = size_bytes(metadata, "--metadata") if metadata else ("", 0)
    if percent is not None:
        try:
            share = float(percent)
        except ValueError:
            share = -1.0
        if not 0 < share <= 1000:
            raise UsageError(f"--percent must be a number above 0 (up to 1000): {percent!r}")
    target = one_target_from("lvm.extend-pool", host=host, hosts=hosts, limit=limit,
                             container=container, known_hosts=known_hosts,
                             accept_new=accept_new, identity=identity,
                             connect_timeout=connect_timeout, timeout=timeout)

    async def run() -> int:
        async with target:
            state = await lvm_state(target)
            vg, lv = state.vg(vg_name), state.lv(vg_name, pool_name)
            if vg is None or lv is None:
                raise RunbookError(f"{target.name}: no LV {vg_name}/{pool_name} here")
            if not lv.is_thin_pool:
                raise RunbookError(f"{target.name}: {vg_name}/{pool_name} is a {lv.segtype} "
                                   "LV, not a thin pool")
            nonlocal data_arg, data_bytes
            if percent is not None:
                data_bytes = math.ceil(lv.size * float(percent) / 100)
                data_arg = f"+{data_bytes}b"
            data_ext = _extents(data_bytes, vg.extent_size)
            # LVM grows the spare metadata LV (lvol0_pmspare) along with the metadata.
            meta_ext = 2 * _extents(meta_bytes, vg.extent_size)
            needed = data_ext + meta_ext
            if needed <= vg.free_extents:
                print(f"{vg.name}: {vg.free_extents} free extents of "
                      f"{size_text(vg.extent_size)} ({size_text(vg.free)}); this uses {needed} "
                      f"({size_text(needed * vg.extent_size)}), leaving "
                      f"{size_text((vg.free_extents - needed) * vg.extent_size)}")
            else:
                raise RunbookError(
                    f"{target.name}: {vg.name} has {vg.free_extents} free extents, the growth "
                    f"needs {needed}: add a disk first (pvcreate, vgextend {vg.name} DEVICE)")
            plan = Plan("lvm.extend-pool", target)
            full = f"{vg_name}/{pool_name}"
            if data_ext:
                new_size = lv.size + data_ext * vg.extent_size
                plan.add(Step(
                    f"grow {full} data from {size_text(lv.size)} to {size_text(new_size)} "
                    f"({IRREVERSIBLE})", ["lvextend", "-L", data_arg, full], None,
                    _grew(vg_name, pool_name, "size", lv.size)))
            if meta_ext:
                plan.add(Step(
                    f"grow {full} metadata by {size_text(meta_bytes)} ({IRREVERSIBLE})",
                    ["lvextend", "--poolmetadatasize", meta_arg, full], None,
                    _grew(vg_name, pool_name, "metadata_size", lv.metadata_size or 0)))
            plan.manual.append(NO_UNDO_NOTE)
            return await apply_plan(plan, bool(apply))

    asyncio.run(run())


def _grew(vg: str, lv: str, attribute: str, before: int):
    async def verify(target: Target) -> bool:
        from .collect import lvm_state

        now = (await lvm_state(target)).lv(vg, lv)
        return now is not None and (getattr(now, attribute) or 0) > before

    return verify


ns = Collection("lvm")
ns.add_task(health)
ns.add_task(extend_pool)
