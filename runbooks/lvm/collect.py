"""Read LVM's state with one constant shell script per target: vgs, lvs, pvs and lvmconfig."""

from __future__ import annotations

from ..core.errors import ParseError, TargetError
from ..core.targets import Target
from .parse import LvmState, parse_session

VG_FIELDS = ("vg_name,vg_attr,vg_size,vg_free,vg_extent_size,vg_extent_count,vg_free_count,"
             "pv_count,vg_missing_pv_count,lv_count")
LV_FIELDS = ("vg_name,lv_name,lv_attr,segtype,lv_size,lv_metadata_size,data_percent,"
             "metadata_percent,pool_lv,origin,lv_health_status,lv_check_needed,sync_percent,"
             "copy_percent,raid_sync_action,raid_mismatch_count,lv_when_full,lv_active,"
             "seg_monitor,thin_count")
PV_FIELDS = "pv_name,vg_name,pv_attr,pv_size,pv_free,pv_missing"
CONFIG_KEYS = ("activation/thin_pool_autoextend_threshold activation/thin_pool_autoextend_percent "
               "activation/monitoring")
REPORT_OPTIONS = "--reportformat json --units b --nosuffix"

# Constant script, no data in it: each section starts with a BP-LVM line and ends
# with BP-EXIT and the command's exit status. Sizes in bytes, without suffix.
# sbin directories are added because a non-root login's PATH often lacks them.
SCRIPT = f"""
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin; export PATH
command -v lvm >/dev/null 2>&1 || {{ echo "BP-MISSING lvm2"; exit 0; }}
echo "BP-LVM vgs"; vgs {REPORT_OPTIONS} -o {VG_FIELDS}; echo "BP-EXIT $?"
echo "BP-LVM lvs"; lvs {REPORT_OPTIONS} -o {LV_FIELDS}; echo "BP-EXIT $?"
echo "BP-LVM pvs"; pvs {REPORT_OPTIONS} -o {PV_FIELDS}; echo "BP-EXIT $?"
echo "BP-LVM config"; lvmconfig --type full {CONFIG_KEYS}; echo "BP-EXIT $?"
"""


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
