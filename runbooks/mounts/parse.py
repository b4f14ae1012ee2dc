"""Parse /proc/mounts (and /proc/self/mounts, /etc/mtab copies) into data.

Pure functions, no I/O: fed with captured text in the tests.

The kernel escapes four characters in the device and mount point fields with
three-digit octal: space ``\\040``, tab ``\\011``, newline ``\\012`` and
backslash ``\\134``. We decode every ``\\NNN`` so that a mount point named
``/srv/my nas`` reads as such.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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

    def option_map(self) -> dict[str, str | None]:
        """Options as name -> value (None for flags like ``nobarrier``)."""
        result: dict[str, str | None] = {}
        for opt in self.options:
            name, sep, value = opt.partition("=")
            result[name] = value if sep else None
        return result

    def has(self, name: str, value: str | None = None) -> bool:
        opts = self.option_map()
        if name not in opts:
            return False
        return value is None or opts[name] == value


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
