"""Parse what the patching collectors print, and compare versions. Pure functions,
tested on output captured in the patching lab.

Two collectors feed this module:

- the stale-library scan (``STALE_SCAN`` in collect.py) prints, per process that
  maps a deleted shared object, its mappings, name, executable, cgroup and
  whether it shares our root directory;
- the OpenSSL inventory (``OPENSSL_SCAN``) prints ``openssl version``, the
  installed libssl packages and the OpenSSL libraries that processes map, with
  the version string found inside each file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..core.errors import ParseError

DELETED = " (deleted)"
# Shared objects: libssl.so.3, libc.so.6, libfoo.so, _ssl.cpython-311-x86_64-linux-gnu.so.
_LIBRARY_NAME = re.compile(r"\.so(?:\.\d+)*$")
# Deleted mappings that are not replaced libraries: anonymous shared memory, memfd
# files (named by the program, sometimes *.so), System V shared memory.
NOT_LIBRARIES = ("/memfd:", "/dev/shm/", "/SYSV", "/dev/zero", "/anon_hugepage",  # noqa: S108
                 "/[")
_SCAN_KEYS = ("map", "name", "exe", "cgroup", "root")


def is_replaced_library(path: str) -> bool:
    """Whether a deleted mapping (path without " (deleted)") is a shared library file."""
    if path.startswith(NOT_LIBRARIES):
        return False
    return bool(_LIBRARY_NAME.search(path.rsplit("/", 1)[-1]))


def library_name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def printable(text: str) -> str:
    """Text safe for one line of a terminal: control characters (tab, escape, ...)
    written as backslash and three octal digits, the way /proc/PID/maps writes \\012."""
    return _CONTROL.sub(lambda m: f"\\{ord(m.group()):03o}", text)


@dataclass(frozen=True)
class Mapping:
    """A mapped file that is gone from its directory: device, inode and last path."""

    device: str  # major:minor in hex, as /proc/PID/maps prints it
    inode: int
    path: str  # as the kernel shows it (a newline is \\012), without " (deleted)"


def unit_from_cgroup(lines: list[str]) -> str | None:
    """The systemd service a process belongs to, from its /proc/PID/cgroup lines.

    The unified (``0::``) line is preferred, then the v1 ``name=systemd`` one; the
    deepest ``*.service`` component wins (a service's own sub-cgroups keep its name).
    """
    ordered = sorted(lines, key=lambda line: not line.startswith("0::"))
    for line in ordered:
        path = line.split(":", 2)[-1]
        services = [part for part in path.split("/") if part.endswith(".service")]
        if services:
            return services[-1]
    return None


@dataclass
class Process:
    pid: int
    # /proc/PID/status Name (the kernel escapes newline and backslash); None when the
    # process ended before the scan got to it
    name: str | None = None
    exe: str = ""  # readlink of /proc/PID/exe, newline written as \\012
    cgroups: list[str] = field(default_factory=list)
    same_root: bool = True  # False: in a container or chroot of its own
    mappings: list[Mapping] = field(default_factory=list)

    @property
    def unit(self) -> str | None:
        return unit_from_cgroup(self.cgroups)

    @property
    def libraries(self) -> list[str]:
        """Distinct replaced library paths this process maps, in order."""
        seen: dict[str, None] = {}
        for mapping in self.mappings:
            if is_replaced_library(mapping.path):
                seen.setdefault(mapping.path, None)
        return list(seen)


@dataclass(frozen=True)
class StaleScan:
    processes: int  # process directories in /proc when the scan ran
    denied: int  # of those, how many had maps we were not allowed to read
    stale: dict[int, Process]  # processes that map at least one deleted *.so file
    # File names of every shared object mapped at all, deleted or not
    mapped: frozenset[str] = frozenset()

    @property
    def with_libraries(self) -> list[Process]:
        """Processes that map a replaced library (memfd and shared memory left out),
        leaving out those that ended while the scan ran."""
        return [p for p in self.stale.values() if p.libraries and p.name is not None]


def _count(value: str, what: str, number: int) -> int:
    if not value.isdigit():
        raise ParseError(f"stale-library scan line {number}: {what} is not a number: {value!r}")
    return int(value)


def parse_stale_scan(text: str) -> StaleScan:
    """The stale-library scan: ``processes N``, ``denied N``, ``libraries N`` and N
    ``mapped<TAB>NAME`` lines, then ``PID<TAB>KEY<TAB>VALUE`` lines (KEY: map, name,
    exe, cgroup, root)."""
    processes = denied = None
    mapped: set[str] | None = None
    stale: dict[int, Process] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line:
            continue
        first, sep, rest = line.partition("\t")
        if not sep:
            raise ParseError(f"stale-library scan line {number}: unexpected {line!r}")
        if first == "processes":
            processes = _count(rest, "processes", number)
            continue
        if first == "denied":
            denied = _count(rest, "denied", number)
            continue
        if first == "libraries":
            _count(rest, "libraries", number)
            mapped = set()
            continue
        if first == "mapped" and mapped is not None and rest:
            mapped.add(rest)
            continue
        key, sep, value = rest.partition("\t")
        if not first.isdigit() or not sep or key not in _SCAN_KEYS:
            raise ParseError(f"stale-library scan line {number}: unexpected {line!r}")
        process = stale.setdefault(int(first), Process(int(first)))
        if key == "map":
            where, sep, path = value.partition("\t")
            device, _, inode = where.partition(" ")
            if not sep or not inode.isdigit() or not path.endswith(DELETED):
                raise ParseError(f"stale-library scan line {number}: unexpected {line!r}")
            process.mappings.append(Mapping(device, int(inode), path[: -len(DELETED)]))
        elif key == "name":
            process.name = value
        elif key == "exe":
            process.exe = value
        elif key == "cgroup":
            process.cgroups.append(value)
        else:
            process.same_root = value == "same"
    if processes is None or denied is None or mapped is None:
        raise ParseError("stale-library scan: no process or library count (did the scan run?)")
    return StaleScan(processes, denied, stale, frozenset(mapped))


def usr_merge_twin(path: str) -> str | None:
    """/usr/lib/X for /lib/X and back: on merged-/usr systems the kernel shows one
    spelling while dpkg may have recorded the other."""
    for short in ("/lib/", "/lib64/", "/bin/", "/sbin/"):
        if path.startswith(short):
            return "/usr" + path
        if path.startswith("/usr" + short):
            return path[len("/usr"):]
    return None


def parse_dpkg_search(text: str) -> dict[str, str]:
    """``dpkg -S PATH...`` output: which package(s) installed each path.

    Lines are ``PKG[:ARCH][, PKG...]: PATH``; diversion lines are skipped and paths
    dpkg does not know are absent (dpkg reports those on stderr).
    """
    owners = {}
    for line in text.splitlines():
        if not line or line.startswith(("diversion by ", "local diversion ")):
            continue
        packages, sep, path = line.partition(": ")
        if not sep or not path.startswith("/"):
            continue
        names = [p.strip().split(":", 1)[0] for p in packages.split(",") if p.strip()]
        owners[path] = ", ".join(names)
    return owners


# --- OpenSSL versions ------------------------------------------------------------------

_VERSION = re.compile(
    r"(?P<product>OpenSSL|LibreSSL|BoringSSL)\s+(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)"
    r"(?P<letter>[a-z]*)(?:-(?P<suffix>[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*))?"
)


@dataclass(frozen=True)
class OpenSSLVersion:
    product: str  # OpenSSL, LibreSSL or BoringSSL
    numbers: tuple[int, int, int]
    letter: str  # 1.0.1e -> "e"; OpenSSL 3 has none
    suffix: str  # "fips", "beta1", ... (after the dash)
    text: str  # as it was printed

    @property
    def short(self) -> str:
        version = ".".join(map(str, self.numbers)) + self.letter
        return f"{version}-{self.suffix}" if self.suffix else version


def parse_openssl_version(text: str) -> OpenSSLVersion | None:
    """The first version in ``text`` (``openssl version`` output or a string found in a
    library), or None when there is none."""
    match = _VERSION.search(text)
    if not match:
        return None
    numbers = (int(match["major"]), int(match["minor"]), int(match["patch"]))
    return OpenSSLVersion(match["product"], numbers, match["letter"], match["suffix"] or "",
                          " ".join(text[match.start():].split("(Library:")[0].split()))


def library_version(command_output: str) -> OpenSSLVersion | None:
    """The library version ``openssl version`` reports: OpenSSL 3 prints it in
    ``(Library: ...)`` when it differs from the command's own build."""
    library = re.search(r"\(Library: ([^)]*)\)", command_output)
    return parse_openssl_version(library.group(1) if library else command_output)


def heartbleed_affected(version: OpenSSLVersion) -> bool:
    """Whether this upstream release has the Heartbleed bug (CVE-2014-0160).

    Affected: OpenSSL 1.0.1 through 1.0.1f (pre-releases included) and 1.0.2-beta1.
    1.0.1g fixed it; 0.9.8 and 1.0.0 never had the heartbeat code; LibreSSL and
    BoringSSL came later and removed it. A distribution's package may carry the fix
    under an affected number (see :func:`backported_fix`).
    """
    if version.product != "OpenSSL":
        return False
    if version.numbers == (1, 0, 1):
        return version.letter < "g"  # "", "a" .. "f"; letters go on to "u"
    if version.numbers == (1, 0, 2):
        return version.letter == "" and version.suffix == "beta1"
    return False


# --- Debian package versions ---------------------------------------------------------------


def _order(char: str) -> int:
    if char == "~":
        return -1
    if char.isdigit():
        return 0
    if char.isalpha():
        return ord(char)
    return ord(char) + 256


def _compare_fragment(a: str, b: str) -> int:
    """dpkg's verrevcmp: alternate non-digit runs (letters before other signs, ``~``
    before everything, even the end) and numeric runs."""
    i = j = 0
    while i < len(a) or j < len(b):
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i]) if i < len(a) else 0
            bc = _order(b[j]) if j < len(b) else 0
            if ac != bc:
                return ac - bc
            i, j = i + 1, j + 1
        start_i, start_j = i, j
        while i < len(a) and a[i].isdigit():
            i += 1
        while j < len(b) and b[j].isdigit():
            j += 1
        left, right = int(a[start_i:i] or 0), int(b[start_j:j] or 0)
        if left != right:
            return -1 if left < right else 1
    return 0


def _split_version(version: str) -> tuple[int, str, str]:
    epoch, sep, rest = version.partition(":")
    if not sep:
        epoch, rest = "0", version
    if not epoch.isdigit():
        raise ParseError(f"not a Debian version: {version!r}")
    upstream, sep, revision = rest.rpartition("-")
    if not sep:
        upstream, revision = rest, ""
    return int(epoch), upstream, revision


def compare_debian_versions(a: str, b: str) -> int:
    """Negative, zero or positive as ``a`` is older than, equal to or newer than ``b``,
    by the rules of ``dpkg --compare-versions``."""
    epoch_a, upstream_a, revision_a = _split_version(a)
    epoch_b, upstream_b, revision_b = _split_version(b)
    if epoch_a != epoch_b:
        return -1 if epoch_a < epoch_b else 1
    return _compare_fragment(upstream_a, upstream_b) or _compare_fragment(revision_a, revision_b)


@dataclass(frozen=True)
class BackportedFix:
    fixed: str  # first package version with the fix
    release: str
    advisory: str


# Distribution packages whose upstream number stayed in the affected range after the
# fix was backported. The series pattern matches the versions of that release only.
HEARTBLEED_BACKPORTS = (
    (re.compile(r"^1\.0\.1e-2(\+deb7u\d+)?$"),
     BackportedFix("1.0.1e-2+deb7u5", "Debian 7 (wheezy)", "DSA-2896-1")),
    (re.compile(r"^1\.0\.1-4ubuntu5(\.\d+)?$"),
     BackportedFix("1.0.1-4ubuntu5.12", "Ubuntu 12.04 LTS", "USN-2165-1")),
)


def backported_fix(package_version: str) -> BackportedFix | None:
    """The known fixed version of the release this package version belongs to, if any."""
    for series, fix in HEARTBLEED_BACKPORTS:
        if series.match(package_version):
            return fix
    return None


def upstream_of(package_version: str) -> str:
    """The upstream part of a Debian version: 1.0.1e-2+deb7u5 -> 1.0.1e."""
    return _split_version(package_version)[1]


# --- the OpenSSL inventory ---------------------------------------------------------------


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    status: str  # dpkg's abbreviated status: "ii" is installed

    @property
    def installed(self) -> bool:
        return self.status[1:2] in ("i", "U", "F", "W", "t")  # files on disk


@dataclass(frozen=True)
class MappedLibrary:
    path: str  # without " (deleted)"
    processes: int
    version_text: str | None  # the OpenSSL version string inside the file, if found
    deleted: bool

    @property
    def version(self) -> OpenSSLVersion | None:
        return parse_openssl_version(self.version_text) if self.version_text else None


@dataclass(frozen=True)
class OpenSSLScan:
    command: str | None  # first line of `openssl version`; None without the command
    packages: list[Package]
    libraries: list[MappedLibrary]
    processes: int = 0  # process directories in /proc whose maps the scan looked at
    denied: int = 0  # of those, how many had maps it was not allowed to read


def parse_openssl_scan(text: str) -> OpenSSLScan:
    """The OpenSSL inventory: ``command<TAB>TEXT``, ``package<TAB>STATUS<TAB>NAME<TAB>VERSION``,
    ``maps<TAB>PROCESSES<TAB>DENIED`` and ``library<TAB>PROCESSES<TAB>VERSION<TAB>PATH``
    lines (``-`` for none)."""
    command = None
    seen_command = False
    maps: tuple[int, int] | None = None
    packages: list[Package] = []
    libraries: list[MappedLibrary] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line:
            continue
        kind, _, rest = line.partition("\t")
        fields = rest.split("\t")
        if kind == "command":
            seen_command = True
            command = None if rest == "-" else rest
        elif kind == "maps" and len(fields) == 2 and all(f.isdigit() for f in fields):
            maps = (int(fields[0]), int(fields[1]))
        elif kind == "package" and len(fields) == 3:
            status, name, version = fields
            packages.append(Package(name, version, status.strip()))
        elif kind == "library" and len(fields) >= 3 and fields[0].isdigit():
            count, version, path = fields[0], fields[1], "\t".join(fields[2:])
            deleted = path.endswith(DELETED)
            libraries.append(MappedLibrary(path[: -len(DELETED)] if deleted else path,
                                           int(count), None if version == "-" else version,
                                           deleted))
        else:
            raise ParseError(f"OpenSSL inventory line {number}: unexpected {line!r}")
    if not seen_command:
        raise ParseError("OpenSSL inventory: no `openssl version` line (did the scan run?)")
    if maps is None:
        raise ParseError("OpenSSL inventory: no `maps` line (did the /proc scan run?)")
    return OpenSSLScan(command, [p for p in packages if p.installed], libraries, *maps)
