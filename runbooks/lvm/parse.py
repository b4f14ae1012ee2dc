"""Parse LVM's JSON reports and lvmconfig output (pure functions).

The collect script (:mod:`runbooks.lvm.collect`) prints four sections, each
opened by ``BP-LVM NAME`` and closed by ``BP-EXIT STATUS``: ``vgs``, ``lvs`` and
``pvs`` as ``--reportformat json --units b --nosuffix`` (every value a string,
empty where the field does not apply or is unknown), then ``lvmconfig --type
full`` as ``key=value`` lines.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..core.errors import ParseError

SECTION, EXIT = "BP-LVM", "BP-EXIT"
# lv_attr character 9 (index 8): the volume's health as device-mapper reports it,
# named as lv_health_status prints it where that field has a value for it
# (out_of_data and metadata_read_only are thin pool states: lvm2's lib/report/report.c).
HEALTH_CHARS = {"p": "partial", "r": "refresh needed", "m": "mismatches exist",
                "w": "writemostly", "X": "unknown", "D": "out_of_data",
                "M": "metadata_read_only", "F": "failed", "E": "dm-writecache error"}


@dataclass(frozen=True)
class VolumeGroup:
    name: str
    attr: str
    size: int
    free: int
    extent_size: int
    free_extents: int
    pv_count: int
    missing_pv_count: int
    lv_count: int

    @property
    def partial(self) -> bool:
        """vg_attr character 4 is 'p' when PVs of the VG are missing."""
        return len(self.attr) > 3 and self.attr[3] == "p"


@dataclass(frozen=True)
class LogicalVolume:
    vg: str
    name: str
    attr: str
    segtype: str
    size: int
    metadata_size: int | None
    data_percent: float | None  # None: not a pool/thin/snapshot, or not active
    metadata_percent: float | None
    pool: str
    origin: str
    health: str  # lv_health_status: "", "partial", "refresh needed", "out_of_data", ...
    check_needed: str  # "check needed", "", or "unknown" when inactive
    sync_percent: float | None
    sync_action: str
    mismatches: int | None
    when_full: str  # thin pools: "queue" or "error"
    active: str  # lv_active: "active", "" when unknown, ...
    monitor: str  # seg_monitor: "monitored", "not monitored", "" when inactive
    thin_count: int | None

    @property
    def full_name(self) -> str:
        return f"{self.vg}/{self.name}"

    @property
    def is_thin_pool(self) -> bool:
        return self.segtype == "thin-pool"

    @property
    def is_thin(self) -> bool:
        return self.segtype == "thin"

    @property
    def is_raid(self) -> bool:
        return self.segtype.startswith("raid")

    @property
    def is_mirror(self) -> bool:
        return self.segtype == "mirror"

    @property
    def is_snapshot(self) -> bool:
        return self.attr[:1] in ("s", "S")

    @property
    def state(self) -> str:
        """'active', 'inactive' or 'unknown', from lv_active or lv_attr character 5."""
        if self.active:
            return "active" if self.active.startswith("active") else "inactive"
        char = self.attr[4:5]
        if char in ("a", "s", "I", "c", "m", "d", "i", "h"):
            return "active" if char == "a" else "active (" + {
                "s": "suspended", "I": "invalid snapshot", "c": "invalid suspended snapshot",
                "m": "merge failed", "d": "no table", "i": "inactive table",
                "h": "historical"}[char] + ")"
        return "inactive" if char == "-" else "unknown"

    @property
    def health_char(self) -> str:
        return self.attr[8:9] if len(self.attr) > 8 and self.attr[8] != "-" else ""


@dataclass(frozen=True)
class PhysicalVolume:
    name: str
    vg: str
    attr: str
    size: int
    free: int
    missing: bool


@dataclass(frozen=True)
class LvmConfig:
    """The settings that decide whether anything extends a thin pool before it fills."""

    autoextend_threshold: int | None = None  # 100 (the default) means never
    autoextend_percent: int | None = None
    monitoring: bool | None = None

    @property
    def autoextend_on(self) -> bool:
        return self.autoextend_threshold is not None and self.autoextend_threshold < 100


@dataclass
class LvmState:
    vgs: list[VolumeGroup] = field(default_factory=list)
    lvs: list[LogicalVolume] = field(default_factory=list)
    pvs: list[PhysicalVolume] = field(default_factory=list)
    config: LvmConfig = field(default_factory=LvmConfig)

    def vg(self, name: str) -> VolumeGroup | None:
        return next((v for v in self.vgs if v.name == name), None)

    def lv(self, vg: str, name: str) -> LogicalVolume | None:
        return next((lv for lv in self.lvs if lv.vg == vg and lv.name == name), None)


def _int(text: str | None) -> int:
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        return 0


def _opt_int(text: str | None) -> int | None:
    return _int(text) if text not in (None, "") and str(text).strip().lstrip("-").isdigit() \
        else None


def _percent(text: str | None) -> float | None:
    try:
        return float(str(text).strip()) if text not in (None, "") else None
    except ValueError:
        return None


def split_sections(text: str) -> dict[str, tuple[str, int | None]]:
    """The script's sections by name: (body, exit status or None if it never ended)."""
    sections: dict[str, tuple[str, int | None]] = {}
    name: str | None = None
    body: list[str] = []
    for line in text.splitlines():
        if line.startswith(SECTION + " "):
            name, body = line[len(SECTION) + 1:].strip(), []
        elif line.startswith(EXIT + " ") and name is not None:
            status = line[len(EXIT) + 1:].strip()
            sections[name] = ("\n".join(body), int(status) if status.isdigit() else None)
            name = None
        elif name is not None:
            body.append(line)
    if name is not None:
        sections[name] = ("\n".join(body), None)
    return sections


def parse_report(text: str, kind: str) -> list[dict[str, str]]:
    """Rows of one ``--reportformat json`` report: {"report": [{kind: [...]}]}."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"{kind}s: not a JSON report ({exc.msg} at line {exc.lineno})") from None
    rows: list[dict[str, str]] = []
    for part in doc.get("report", []) if isinstance(doc, dict) else []:
        rows.extend(r for r in part.get(kind, []) if isinstance(r, dict))
    if not isinstance(doc, dict) or "report" not in doc:
        raise ParseError(f"{kind}s: JSON without a 'report' list")
    return rows


def parse_vgs(text: str) -> list[VolumeGroup]:
    return [VolumeGroup(r.get("vg_name", ""), r.get("vg_attr", ""), _int(r.get("vg_size")),
                        _int(r.get("vg_free")), _int(r.get("vg_extent_size")),
                        _int(r.get("vg_free_count")), _int(r.get("pv_count")),
                        _int(r.get("vg_missing_pv_count")), _int(r.get("lv_count")))
            for r in parse_report(text, "vg")]


def parse_lvs(text: str) -> list[LogicalVolume]:
    """One LogicalVolume per LV: lvs prints a row per segment when segtype is asked for,
    so later rows of a multi-segment LV are dropped."""
    seen: dict[tuple[str, str], LogicalVolume] = {}
    for r in parse_report(text, "lv"):
        key = (r.get("vg_name", ""), r.get("lv_name", ""))
        if key in seen:
            continue
        sync = r.get("sync_percent") or r.get("copy_percent")
        seen[key] = LogicalVolume(
            vg=key[0], name=key[1], attr=r.get("lv_attr", ""), segtype=r.get("segtype", ""),
            size=_int(r.get("lv_size")), metadata_size=_opt_int(r.get("lv_metadata_size")),
            data_percent=_percent(r.get("data_percent")),
            metadata_percent=_percent(r.get("metadata_percent")), pool=r.get("pool_lv", ""),
            origin=r.get("origin", ""), health=r.get("lv_health_status", ""),
            check_needed=r.get("lv_check_needed", ""), sync_percent=_percent(sync),
            sync_action=r.get("raid_sync_action", ""),
            mismatches=_opt_int(r.get("raid_mismatch_count")),
            when_full=r.get("lv_when_full", ""), active=r.get("lv_active", ""),
            monitor=r.get("seg_monitor", ""), thin_count=_opt_int(r.get("thin_count")))
    return list(seen.values())


def parse_pvs(text: str) -> list[PhysicalVolume]:
    return [PhysicalVolume(r.get("pv_name", ""), r.get("vg_name", ""), r.get("pv_attr", ""),
                           _int(r.get("pv_size")), _int(r.get("pv_free")),
                           r.get("pv_missing", "") == "missing"
                           or r.get("pv_attr", "")[2:3] == "m")
            for r in parse_report(text, "pv")]


def parse_config(text: str) -> LvmConfig:
    """``lvmconfig --type full`` lines such as ``thin_pool_autoextend_threshold=100``."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep:
            values[key.strip()] = value.strip().strip('"')
    monitoring = values.get("monitoring")
    return LvmConfig(_opt_int(values.get("thin_pool_autoextend_threshold")),
                     _opt_int(values.get("thin_pool_autoextend_percent")),
                     None if monitoring is None else monitoring != "0")


def parse_session(text: str) -> LvmState:
    """The whole output of the collect script. ParseError names a failed or missing report."""
    sections = split_sections(text)
    state = LvmState()
    for name, parser in (("vgs", parse_vgs), ("lvs", parse_lvs), ("pvs", parse_pvs)):
        if name not in sections:
            raise ParseError(f"no {name} report in the output")
        body, status = sections[name]
        if status != 0:
            raise ParseError(f"{name} failed" + (f" with exit status {status}"
                                                  if status is not None else " (no exit status)"))
        setattr(state, name, parser(body))
    body, status = sections.get("config", ("", None))
    if status == 0:  # lvmconfig older than --type full: judged without the settings
        state.config = parse_config(body)
    return state
