"""Collect: read a target's mount table and the kernel's effective ext4 options."""

from __future__ import annotations

from ..core.errors import ParseError
from ..core.targets import Target
from .judge import EXT_TYPES
from .parse import MountEntry, parse_mounts, with_effective

PROC_MOUNTS = "/proc/mounts"
# One call for every ext4 filesystem (and the dm-N names behind /dev/mapper/*).
# A constant script: nothing from the user or the target is interpolated.
EFFECTIVE_SCRIPT = (
    "grep -H '' /proc/fs/ext4/*/options /sys/block/dm-*/dm/name 2>/dev/null; exit 0"
)


async def read_mounts(target: Target, path: str = PROC_MOUNTS) -> list[MountEntry]:
    """Mount entries of ``target``; live tables also get the effective ext4 options."""
    text = await target.read_file(path)
    try:
        entries = parse_mounts(text)
    except ParseError as exc:
        raise ParseError(f"{target.name}: {path}: {exc}") from None
    if path == PROC_MOUNTS and any(e.fstype in EXT_TYPES for e in entries):
        result = await target.run(["sh", "-c", EFFECTIVE_SCRIPT])
        entries = with_effective(entries, result.stdout)
    return entries
