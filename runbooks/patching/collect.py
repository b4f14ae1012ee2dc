"""What the patching tasks run on a target: one pass over /proc for stale libraries, dpkg -S
for their packages, and the OpenSSL inventory."""

from __future__ import annotations

from ..core.errors import TargetError
from ..core.scripts import load
from ..core.targets import Target
from .parse import (
    OpenSSLScan,
    StaleScan,
    parse_dpkg_search,
    parse_openssl_scan,
    parse_stale_scan,
    usr_merge_twin,
)

# One pass over /proc (constant script: process names and paths only ever appear in
# its output, as data). Prints the number of processes and of unreadable maps; the
# file name of every shared object any process maps (so that a --library naming
# nothing mapped is told apart from one with nothing stale);
# then per process that maps a deleted *.so file: its mappings (one line per file),
# name (/proc/PID/status escapes newlines), executable and cgroup (newlines written as
# \012, as the kernel writes them in maps) and whether it shares our root directory.
STALE_SCAN = load(__package__, "stale-scan.sh")  # scripts/stale-scan.sh

# `openssl version`, the installed libssl packages, and every OpenSSL library that
# running processes map: how many processes map it and the version string inside the
# file, read through /proc/PID/root so that a container's own copy is the one read.
OPENSSL_SCAN = load(__package__, "openssl-scan.sh")  # scripts/openssl-scan.sh


async def stale_scan(target: Target) -> StaleScan:
    """Processes that map a deleted shared object, from one pass over /proc."""
    result = await target.run(["sh", "-c", STALE_SCAN])
    if not result.ok:
        raise TargetError(f"{target.name}: scanning /proc: {result.first_error_line()}")
    return parse_stale_scan(result.stdout)


async def package_owners(target: Target, paths: list[str]) -> dict[str, str] | None:
    """Which package installed each path, from one ``dpkg -S`` call; None without dpkg.

    Each path is asked in both spellings of merged /usr (the kernel shows
    /usr/lib/..., dpkg may have recorded /lib/...).
    """
    if not paths:
        return {}
    asked = {path: [path] + [t for t in (usr_merge_twin(path),) if t] for path in paths}
    try:
        result = await target.run(["dpkg", "-S", *(s for both in asked.values() for s in both)])
    except TargetError as exc:
        if "command not found" in str(exc):
            return None
        raise
    if result.exit_status not in (0, 1):  # 1: some path is in no package
        return None
    found = parse_dpkg_search(result.stdout)
    owners = {}
    for path, spellings in asked.items():
        for spelling in spellings:
            if spelling in found:
                owners[path] = found[spelling]
                break
    return owners


async def openssl_scan(target: Target) -> OpenSSLScan:
    """`openssl version`, the libssl packages and the OpenSSL libraries processes map."""
    result = await target.run(["sh", "-c", OPENSSL_SCAN])
    if not result.ok:
        raise TargetError(f"{target.name}: OpenSSL inventory: {result.first_error_line()}")
    return parse_openssl_scan(result.stdout)
