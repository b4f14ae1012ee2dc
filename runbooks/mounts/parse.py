"""Parse /proc/mounts (and /proc/self/mounts, /etc/mtab copies) into data.

Pure functions, no I/O: fed with captured text in the tests.

/proc/mounts only lists options that differ from the defaults, so an ext4
volume whose superblock says "continue on errors" (mke2fs's default) shows no
``errors=`` at all. The kernel's complete, effective option list for each
ext4 filesystem is in /proc/fs/ext4/DEVICE/options; :func:`parse_effective`
reads a batch of those (and the dm-N names of /dev/mapper devices) so the
judge can see what is really in force.

The kernel escapes four characters in the device and mount point fields with
three-digit octal: space ``\\040``, tab ``\\011``, newline ``\\012`` and
backslash ``\\134``. We decode every ``\\NNN`` so that a mount point named
``/srv/my nas`` reads as such.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..core.errors import ParseError

_OCTAL = re.compile(r"\\([0-7]{3})")


def decode_octal(field: str) -> str:
    """Undo the kernel's octal escaping (``\\040`` -> space)."""
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


@dataclass(frozen=True)
class MountEntry:
    device: str
    mount_point: str
    fstype: str
    options: tuple[str, ...]
    line: int = 0
    # The kernel's full option list (/proc/fs/ext4/DEV/options), when it could be read.
    effective: tuple[str, ...] | None = None

    def option_map(self) -> dict[str, str | None]:
        """Options in force as name -> value (None for flags like ``nobarrier``).

        The effective list when known, with the mount table's entries on top.
        """
        result: dict[str, str | None] = {}
        for opt in (*(self.effective or ()), *self.options):
            name, sep, value = opt.partition("=")
            result[name] = value if sep else None
        return result

    def has(self, name: str, value: str | None = None) -> bool:
        opts = self.option_map()
        if name not in opts:
            return False
        return value is None or opts[name] == value

    def in_mount_table(self, option: str) -> bool:
        """Whether ``option`` was visible in /proc/mounts, not only a default in force."""
        return option in self.options


def parse_mounts(text: str) -> list[MountEntry]:
    """Parse the text of /proc/mounts. Raises ParseError naming the bad line."""
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        fields = raw.split()
        if len(fields) != 6:
            raise ParseError(
                f"line {number}: expected 6 fields (device, mount point, type, options, "
                f"dump, pass), found {len(fields)}"
            )
        device, mount_point, fstype, options, dump, passno = fields
        if not (dump.isdigit() and passno.isdigit()):
            raise ParseError(f"line {number}: dump and pass fields must be numbers")
        entries.append(
            MountEntry(
                device=decode_octal(device),
                mount_point=decode_octal(mount_point),
                fstype=fstype,
                options=tuple(decode_octal(o) for o in options.split(",") if o),
                line=number,
            )
        )
    return entries


def parse_effective(text: str) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """Parse ``grep -H '' /proc/fs/ext4/*/options /sys/block/dm-*/dm/name`` output.

    Returns (ext4 options by kernel device name, kernel name by /dev/mapper name).
    Lines of any other shape are ignored: this is extra detail, never required.
    """
    ext4: dict[str, list[str]] = {}
    mapper: dict[str, str] = {}
    for line in text.splitlines():
        path, sep, value = line.partition(":")
        if not sep:
            continue
        parts = path.split("/")
        if path.startswith("/proc/fs/ext4/") and len(parts) == 6 and parts[5] == "options":
            ext4.setdefault(parts[4], []).append(value.strip())
        elif path.startswith("/sys/block/dm-") and path.endswith("/dm/name") and len(parts) == 6:
            mapper[value.strip()] = parts[3]
    return {name: tuple(o for o in opts if o) for name, opts in ext4.items()}, mapper


def with_effective(entries: list[MountEntry], effective_text: str) -> list[MountEntry]:
    """Attach the kernel's effective options to the ext3/ext4 entries they belong to."""
    ext4, mapper = parse_effective(effective_text)
    result = []
    for entry in entries:
        name = entry.device.rsplit("/", 1)[-1]
        if entry.device.startswith("/dev/mapper/"):
            name = mapper.get(name, name)
        if entry.fstype in ("ext3", "ext4") and name in ext4:
            entry = replace(entry, effective=ext4[name])
        result.append(entry)
    return result
