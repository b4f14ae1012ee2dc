"""What toolchain.check runs on a target: one constant script (scripts/collect.sh), one
line per fact.

The script only looks: it finds binaries, runs each tool's cheapest
version-printing command, and reads /sys, /proc and /lib/modules. Two tools
are not run the obvious way because that writes: every targetcli run creates
~/.targetcli (the script imports targetcli's Python package instead), and
``lvm version`` opens /dev/mapper/control, creating the node where it is
missing and loading dm_mod where it is not loaded (``lvm segtypes`` is asked
instead, and the lvm2 package database gives the version).

Output lines, tab separated (tool output has its newlines turned into the
unit separator \\037 so that one tool stays one line):

    kernel   RELEASE
    os       LINE-OF-/etc/os-release
    tool     KEY  BINARY  PATH  EXIT  OUTPUT
    pkg      PACKAGE  VERSION          (installed packages, for tools without --version)
    kmod     NAME  loaded|builtin|module|absent|unknown
    cgroupfs FSTYPE-OF-/sys/fs/cgroup
    cgroup   FSTYPE  MOUNT-POINT  SUPER-OPTIONS
    cgroup2-controllers  MOUNT-POINT  CONTROLLERS
"""

from __future__ import annotations

from ..core.errors import TargetError
from ..core.scripts import load
from ..core.targets import Target

# Constant, no parameters: scripts/collect.sh.
COLLECT_SCRIPT = load(__package__, "collect.sh")


async def collect(target: Target) -> str:
    """Run the collect script on ``target``; its raw output, for :func:`parse_collect`."""
    result = await target.run(["sh", "-c", COLLECT_SCRIPT])
    if not result.ok or not result.stdout.startswith("kernel\t"):
        raise TargetError(f"{target.name}: toolchain probe failed: {result.first_error_line()}")
    return result.stdout
