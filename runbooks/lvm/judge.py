"""Judge LVM state: one finding per volume group and per (visible) logical volume."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.findings import Finding, Severity
from .parse import HEALTH_CHARS, LogicalVolume, LvmConfig, LvmState, VolumeGroup

PAGE = "runbooks/lvm-health/"
FULL_PAGE = "runbooks/thin-pool-full/"
CHECK = "lvm.health"
# Findings about what was selected rather than about a volume: "nothing to look at".
SELECTION = "lvm.selection"
WHY_POOL = ("a thin pool that runs out of data space stalls and then fails writes on every "
            "volume in it; out of metadata space it can corrupt its mappings")
WHY_REDUNDANCY = "a mirror or raid leg that is missing or out of sync is redundancy you do not have"
WHY_VG = "LVs with extents on a missing PV are partial: their data there is unreachable"
# lv_health_status values that mean data is, or may be, unreachable (lvm2 prints the
# thin pool states with underscores: lib/report/report.c).
CRIT_HEALTH = {"partial", "failed", "out_of_data", "metadata_read_only"}
META_FULL_TEXT = ("metadata full: deactivate the pool and grow its metadata (lvextend "
                  "--poolmetadatasize); lvconvert --repair fails on metadata that is only full")
META_CHECK_TEXT = ("metadata check needed: lvconvert --repair with the pool inactive, and "
                   "free extents for the repaired copy")


@dataclass(frozen=True)
class Thresholds:
    data_warn: float = 80.0
    data_crit: float = 90.0
    meta_warn: float = 70.0
    meta_crit: float = 85.0


def size_text(nbytes: int) -> str:
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" or value >= 100 else f"{value:.1f} {unit}"
        value /= 1024
    return f"{nbytes} B"


def _level(value: float | None, warn: float, crit: float) -> Severity:
    if value is None:
        return Severity.OK
    return Severity.CRIT if value >= crit else Severity.WARN if value >= warn else Severity.OK


def _health(lv: LogicalVolume) -> tuple[Severity, str]:
    """The health status LVM reports, as a severity and a text ('' when healthy)."""
    text = lv.health or HEALTH_CHARS.get(lv.health_char, "")
    if not text or text in ("unknown", "writemostly"):
        return Severity.OK, ""
    return (Severity.CRIT if text in CRIT_HEALTH else Severity.WARN), text


def _inactive_text(lv: LogicalVolume) -> str:
    if lv.state == "unknown":
        return "activation state unknown (no device-mapper answer)"
    return lv.state


def judge_pool(target: str, lv: LogicalVolume, vg: VolumeGroup | None, config: LvmConfig,
               limits: Thresholds) -> Finding:
    """Data and metadata use, health, and what happens (or does not) when it fills."""
    parts: list[str] = []
    severity = Severity.OK
    if lv.data_percent is None:
        parts.append(f"thin pool {size_text(lv.size)}, {_inactive_text(lv)}: no usage figures")
    else:
        data = _level(lv.data_percent, limits.data_warn, limits.data_crit)
        meta = _level(lv.metadata_percent, limits.meta_warn, limits.meta_crit)
        severity = max(data, meta)
        parts.append(f"data {lv.data_percent:.1f} % of {size_text(lv.size)}")
        if lv.metadata_percent is not None:
            size = f" of {size_text(lv.metadata_size)}" if lv.metadata_size else ""
            parts.append(f"metadata {lv.metadata_percent:.1f} %{size}")
        if data > Severity.OK:
            limit = limits.data_crit if data is Severity.CRIT else limits.data_warn
            parts[0] += f" (>= {limit:g} %)"
        if meta > Severity.OK:
            limit = limits.meta_crit if meta is Severity.CRIT else limits.meta_warn
            parts[-1] += f" (>= {limit:g} %)"
    health_severity, health = _health(lv)
    if health:
        severity = max(severity, health_severity)
        parts.append(health)
    page = PAGE + "#thin-pool"
    if health == "out_of_data" or (lv.data_percent or 0) >= 100:
        page = FULL_PAGE + "#data-full"
    metadata_text = _metadata_trouble(lv, health)
    if metadata_text:
        severity = Severity.CRIT
        parts.append(metadata_text)
        page = FULL_PAGE + "#metadata-full"
    monitored = lv.monitor != "not monitored"
    if config.monitoring is False or not monitored:
        if config.monitoring is False or config.autoextend_on:
            severity = max(severity, Severity.WARN)
        parts.append("not monitored by dmeventd: nothing extends it or logs its fill level"
                     if config.monitoring is False or config.autoextend_on
                     else "not monitored by dmeventd")
    if config.autoextend_on:
        parts.append(f"autoextend at {config.autoextend_threshold} % by "
                     f"{config.autoextend_percent} %")
    elif config.autoextend_threshold is not None:
        parts.append("autoextend off (threshold 100)")
    if lv.when_full == "queue":
        parts.append("when full: writes queue (60 s by default), then fail"
                     if not config.autoextend_on else "when full: writes queue")
    elif lv.when_full == "error":
        parts.append("when full: writes fail at once")
    if severity > Severity.OK and vg is not None:
        parts.append(f"{vg.name} has {size_text(vg.free)} free to extend into"
                     if vg.free_extents else f"{vg.name} has no free extents: vgextend first")
    return Finding(CHECK, severity, target, lv.full_name, "; ".join(parts), why=WHY_POOL,
                   page=page, data=_lv_data(lv))


def _metadata_trouble(lv: LogicalVolume, health: str) -> str:
    """What to do about the pool's metadata, '' when it is fine.

    Full metadata is grown, not repaired: in the lab's thin-metadata-full
    experiment lvconvert --repair failed on it (thin_repair could not allocate
    in a spare as small as the full area), and growing it with the pool
    inactive brought every volume back. Repair is for damaged metadata.
    """
    if lv.metadata_percent is not None and lv.metadata_percent >= 100:
        return META_FULL_TEXT
    if lv.check_needed == "check needed" or health == "metadata_read_only":
        return META_CHECK_TEXT
    return ""


def judge_redundant(target: str, lv: LogicalVolume) -> Finding:
    """raid and legacy mirror LVs: health, sync progress, mismatches."""
    kind = "legacy mirror" if lv.is_mirror else lv.segtype
    parts = [f"{kind} {size_text(lv.size)}"]
    severity, health = _health(lv)
    if health:
        parts.append(health)
    if lv.sync_percent is not None and lv.sync_percent < 100:
        severity = max(severity, Severity.WARN)
        action = f" ({lv.sync_action})" if lv.sync_action and lv.sync_action != "idle" else ""
        parts.append(f"resyncing {lv.sync_percent:.1f} %{action}")
    elif lv.sync_percent is not None:
        parts.append("in sync")
    elif lv.state != "active":
        parts.append(f"{_inactive_text(lv)}: sync state unknown")
    if lv.mismatches:
        severity = max(severity, Severity.WARN)
        parts.append(f"{lv.mismatches} mismatches found by the last scrub")
    if lv.is_mirror:
        severity = max(severity, Severity.WARN)
        parts.append(f"convert to raid1: lvconvert --type raid1 {lv.full_name}")
    return Finding(CHECK, severity, target, lv.full_name, "; ".join(parts), why=WHY_REDUNDANCY,
                   page=PAGE + "#redundancy", data=_lv_data(lv))


def judge_plain(target: str, lv: LogicalVolume) -> Finding:
    """Linear, striped, thin and snapshot volumes: health, and fill of snapshots."""
    parts = [f"{'thin volume' if lv.is_thin else lv.segtype} {size_text(lv.size)}"]
    if lv.is_thin and lv.pool:
        parts[0] += f" in {lv.pool}"
    severity, health = _health(lv)
    if health:
        parts.append(health)
    if lv.data_percent is not None:
        parts.append(f"{lv.data_percent:.1f} % mapped" if lv.is_thin
                     else f"{lv.data_percent:.1f} % used")
    if lv.state != "active":
        parts.append(_inactive_text(lv))
    if lv.attr[4:5] == "I":
        severity = Severity.CRIT
        parts.append("snapshot invalid (it overflowed): remove it")
    return Finding(CHECK, severity, target, lv.full_name, "; ".join(parts),
                   why=WHY_REDUNDANCY if severity else "", page=PAGE, data=_lv_data(lv))


def judge_vg(target: str, vg: VolumeGroup, state: LvmState) -> Finding:
    missing = [pv for pv in state.pvs if pv.vg == vg.name and pv.missing]
    count = max(vg.missing_pv_count, len(missing))
    text = (f"{vg.pv_count} PV{'s' if vg.pv_count != 1 else ''}, {vg.lv_count} LVs, "
            f"{size_text(vg.free)} free of {size_text(vg.size)}")
    if count or vg.partial:
        text = f"{count} of {vg.pv_count} PVs missing: LVs with extents there are partial; " \
            + text
        return Finding(CHECK, Severity.CRIT, target, vg.name, text, why=WHY_VG,
                       page=PAGE + "#missing-pv",
                       data={"vg": vg.__dict__, "missing_pvs": [p.name for p in missing]})
    return Finding(CHECK, Severity.OK, target, vg.name, text, page=PAGE, data={"vg": vg.__dict__})


def _lv_data(lv: LogicalVolume) -> dict:
    return {"lv": lv.__dict__, "state": lv.state}


def selected(state: LvmState, vgs: list[str] | None) -> tuple[LvmState, list[str]]:
    """The part of ``state`` in volume groups ``vgs`` (all when None), and the names
    asked for that match no volume group."""
    if vgs is None:
        return state, []
    names = {vg.name for vg in state.vgs}
    wanted = set(vgs)
    part = LvmState([vg for vg in state.vgs if vg.name in wanted],
                    [lv for lv in state.lvs if lv.vg in wanted],
                    [pv for pv in state.pvs if pv.vg in wanted], state.config)
    return part, [name for name in vgs if name not in names]


def _nothing(target: str, message: str, found: list[str]) -> Finding:
    return Finding(SELECTION, Severity.UNKNOWN, target, "", message, page=PAGE,
                   why="a check that found nothing to look at cannot say that all is well",
                   data={"volume_groups_found": found})


def judge_state(target: str, state: LvmState, limits: Thresholds,
                vgs: list[str] | None = None) -> list[Finding]:
    """Findings for every VG (or those named in ``vgs``) and every visible LV in them.

    No volume group at all, or a name in ``vgs`` that matches none, is UNKNOWN:
    nothing was looked at, so nothing may read as OK.
    """
    found = [vg.name for vg in state.vgs]
    if not found:
        orphans = sum(1 for pv in state.pvs if not pv.vg)
        extra = f"; {orphans} PV{'s' if orphans != 1 else ''} in no VG" if orphans else ""
        return [_nothing(target, f"no volume group found (vgs lists none{extra}): nothing "
                         "to check", found)]
    state, unmatched = selected(state, vgs)
    findings = [_nothing(target, f"no volume group named {name} (found: {', '.join(found)})",
                         found) for name in unmatched]
    findings += [judge_vg(target, vg, state) for vg in state.vgs]
    for lv in state.lvs:
        if lv.is_thin_pool:
            findings.append(judge_pool(target, lv, state.vg(lv.vg), state.config, limits))
        elif lv.is_raid or lv.is_mirror:
            findings.append(judge_redundant(target, lv))
        else:
            findings.append(judge_plain(target, lv))
    return findings
