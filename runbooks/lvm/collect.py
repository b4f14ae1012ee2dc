"""Read LVM's state with one constant shell script per target: vgs, lvs, pvs and lvmconfig."""

from __future__ import annotations

from ..core.errors import ParseError, TargetError
from ..core.scripts import load
from ..core.targets import Target
from .parse import LvmState, parse_session

VG_FIELDS = ("vg_name,vg_attr,vg_size,vg_free,vg_extent_size,vg_extent_count,vg_free_count,"
             "pv_count,vg_missing_pv_count,lv_count")
LV_FIELDS = ("vg_name,lv_name,lv_attr,segtype,lv_size,lv_metadata_size,data_percent,"
             "metadata_percent,pool_lv,origin,lv_health_status,lv_check_needed,sync_percent,"
             "copy_percent,raid_sync_action,raid_mismatch_count,lv_when_full,lv_active,"
             "seg_monitor,thin_count")
PV_FIELDS = "pv_name,vg_name,pv_attr,pv_size,pv_free,pv_missing"

# What the parser reads; scripts/collect.sh asks for exactly these (a constant
# script, no data in it: see its header for the output format).
SCRIPT = load(__package__, "collect.sh")


def _reason(stderr: str) -> str:
    """The stderr line that says why, skipping warnings and device-mapper noise."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    useful = [ln for ln in lines if not ln.startswith("WARNING")
              and "device-mapper" not in ln and "/dev/mapper/control" not in ln
              and not ln.startswith(("Failure to communicate", "Incompatible libdevmapper"))]
    return (useful or lines or ["no output"])[0]


def interpret(target_name: str, stdout: str, stderr: str = "") -> LvmState:
    """Turn the script's output into LVM state, or a TargetError naming the cause."""
    if "BP-MISSING lvm2" in stdout:
        raise TargetError(f"{target_name}: lvm2 is not installed here (no lvm command)")
    try:
        return parse_session(stdout)
    except ParseError as exc:
        hint = " (LVM reports need root)" if "non-root user" in stderr else ""
        raise TargetError(f"{target_name}: {exc}: {_reason(stderr)}{hint}") from None


async def lvm_state(target: Target) -> LvmState:
    """One run of SCRIPT on the target; its volume groups, logical and physical volumes."""
    result = await target.run(["sh", "-c", SCRIPT])
    if "BP-LVM" not in result.stdout and "BP-MISSING" not in result.stdout:
        raise TargetError(f"{target.name}: reading LVM state: {result.first_error_line()}")
    return interpret(target.name, result.stdout, result.stderr)
