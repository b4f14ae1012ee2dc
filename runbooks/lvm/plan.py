"""Growing a thin pool: the plan `lvm.extend-pool` shows, and runs with --apply.

The plan is worked out from one read of the volume group (free extents, extent
size) and the pool (data and metadata size). Its steps have no undo command:
LVM cannot shrink a thin pool, so the journal records them as irreversible.
Each step is verified by reading the pool again: it must have grown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..core.changes import Plan, Step, Verifier
from ..core.errors import RunbookError
from ..core.targets import Target
from .judge import size_text
from .parse import LogicalVolume, LvmState, VolumeGroup

IRREVERSIBLE = "no undo: thin pools cannot be shrunk"
NO_UNDO_NOTE = ("this change cannot be undone: LVM cannot shrink a thin pool (lvreduce "
                "refuses thin pools), so the added space stays with the pool for good")


@dataclass(frozen=True)
class Growth:
    """What to add to VG/POOL: data as a size (or a percentage of the pool), metadata."""

    vg: str
    pool: str
    data_arg: str = ""          # lvextend -L argument, e.g. +1G
    data_bytes: int = 0
    percent: float | None = None
    meta_arg: str = ""          # lvextend --poolmetadatasize argument
    meta_bytes: int = 0

    @property
    def full(self) -> str:
        return f"{self.vg}/{self.pool}"


def extents(nbytes: int, extent_size: int) -> int:
    return math.ceil(nbytes / extent_size) if extent_size else 0


def thin_pool(target: Target, state: LvmState, growth: Growth
              ) -> tuple[VolumeGroup, LogicalVolume]:
    """The VG and the pool to grow; RunbookError when there is none or it is no thin pool."""
    vg, lv = state.vg(growth.vg), state.lv(growth.vg, growth.pool)
    if vg is None or lv is None:
        raise RunbookError(f"{target.name}: no LV {growth.full} here")
    if not lv.is_thin_pool:
        raise RunbookError(f"{target.name}: {growth.full} is a {lv.segtype} LV, not a thin pool")
    return vg, lv


def with_percent(growth: Growth, lv: LogicalVolume) -> Growth:
    """``growth`` with a --percent turned into bytes of this pool's data size."""
    if growth.percent is None:
        return growth
    nbytes = math.ceil(lv.size * growth.percent / 100)
    return Growth(growth.vg, growth.pool, f"+{nbytes}b", nbytes, None, growth.meta_arg,
                  growth.meta_bytes)


def space_line(target: Target, vg: VolumeGroup, needed: int) -> str:
    """What the growth takes from the VG; RunbookError when it does not fit."""
    if needed > vg.free_extents:
        raise RunbookError(
            f"{target.name}: {vg.name} has {vg.free_extents} free extents, the growth "
            f"needs {needed}: add a disk first (pvcreate, vgextend {vg.name} DEVICE)")
    return (f"{vg.name}: {vg.free_extents} free extents of {size_text(vg.extent_size)} "
            f"({size_text(vg.free)}); this uses {needed} "
            f"({size_text(needed * vg.extent_size)}), leaving "
            f"{size_text((vg.free_extents - needed) * vg.extent_size)}")


def plan_growth(target: Target, state: LvmState, wanted: Growth) -> tuple[str, Plan]:
    """The free-space summary and the lvextend steps that grow the pool as ``wanted``."""
    vg, lv = thin_pool(target, state, wanted)
    growth = with_percent(wanted, lv)
    data_ext = extents(growth.data_bytes, vg.extent_size)
    # LVM grows the spare metadata LV (lvol0_pmspare) along with the metadata.
    meta_ext = 2 * extents(growth.meta_bytes, vg.extent_size)
    summary = space_line(target, vg, data_ext + meta_ext)
    plan = Plan("lvm.extend-pool", target)
    if data_ext:
        new_size = lv.size + data_ext * vg.extent_size
        plan.add(Step(
            f"grow {growth.full} data from {size_text(lv.size)} to {size_text(new_size)} "
            f"({IRREVERSIBLE})", ["lvextend", "-L", growth.data_arg, growth.full], None,
            grew(growth, "size", lv.size)))
    if meta_ext:
        plan.add(Step(
            f"grow {growth.full} metadata by {size_text(growth.meta_bytes)} ({IRREVERSIBLE})",
            ["lvextend", "--poolmetadatasize", growth.meta_arg, growth.full], None,
            grew(growth, "metadata_size", lv.metadata_size or 0)))
    plan.manual.append(NO_UNDO_NOTE)
    return summary, plan


def grew(growth: Growth, attribute: str, before: int) -> Verifier:
    """A check that the pool's ``attribute`` is larger than ``before`` after the step."""
    async def verify(target: Target) -> bool:
        from .collect import lvm_state

        now = (await lvm_state(target)).lv(growth.vg, growth.pool)
        return now is not None and (getattr(now, attribute) or 0) > before

    return verify
