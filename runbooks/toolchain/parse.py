"""Parse what the toolchain probe prints, and /etc/os-release. Pure functions."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from ..core.errors import ParseError

UNIT_SEPARATOR = "\x1f"  # the probe's stand-in for newlines inside one tool's output
MODULE_STATES = ("loaded", "builtin", "module", "absent", "unknown")


@dataclass(frozen=True)
class ToolProbe:
    """One binary: where it was found ("" if nowhere) and what its cheap command printed."""

    key: str
    binary: str
    path: str
    exit_status: int | None  # None when nothing was run (not found, or presence is enough)
    output: tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        return bool(self.path)

    @property
    def text(self) -> str:
        return "\n".join(self.output)


@dataclass(frozen=True)
class CgroupMount:
    fstype: str  # cgroup (v1) or cgroup2
    mountpoint: str
    options: tuple[str, ...]  # super-block options: the v1 controllers, rw, name=...


@dataclass
class Probe:
    """Everything one run of the collect script said about a host."""

    kernel: str = ""
    os_release: dict[str, str] = field(default_factory=dict)
    tools: dict[str, ToolProbe] = field(default_factory=dict)
    modules: dict[str, str] = field(default_factory=dict)
    packages: dict[str, str] = field(default_factory=dict)  # installed package -> version
    cgroup_fs: str = ""  # filesystem type of /sys/fs/cgroup: cgroup2fs, tmpfs, ...
    cgroup_mounts: list[CgroupMount] = field(default_factory=list)
    cgroup2_controllers: dict[str, tuple[str, ...]] = field(default_factory=dict)


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value lines of os-release(5); values may be quoted as in a shell."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            words = shlex.split(raw)
        except ValueError:  # an unbalanced quote: keep the text as it is
            words = [raw.strip("\"'")]
        values[key.strip()] = " ".join(words)
    return values


def distribution_family(os_release: dict[str, str]) -> str:
    """debian (Debian, Ubuntu and derivatives), rhel (Fedora, RHEL and rebuilds) or other."""
    names = [os_release.get("ID", "").lower(), *os_release.get("ID_LIKE", "").lower().split()]
    if any(n in ("debian", "ubuntu") for n in names):
        return "debian"
    if any(n in ("fedora", "rhel", "centos") for n in names):
        return "rhel"
    return "other"


def _fields(line: str, count: int, number: int) -> list[str]:
    parts = line.split("\t")
    if len(parts) != count:
        raise ParseError(f"toolchain probe line {number}: unexpected {line!r}")
    return parts


def parse_probe(text: str) -> Probe:
    """The collect script's output (see runbooks/toolchain/collect.py for the line kinds)."""
    probe = Probe()
    os_lines = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line:
            continue
        kind, _, rest = line.partition("\t")
        if kind == "kernel":
            probe.kernel = rest
        elif kind == "os":
            os_lines.append(rest)
        elif kind == "tool":
            _, key, binary, path, status, output = _fields(line, 6, number)
            if status and not status.isdigit():
                raise ParseError(f"toolchain probe line {number}: bad exit status {status!r}")
            lines = tuple(part.rstrip() for part in output.split(UNIT_SEPARATOR) if part.strip())
            probe.tools[key] = ToolProbe(key, binary, path, int(status) if status else None,
                                         lines)
        elif kind == "kmod":
            _, name, state = _fields(line, 3, number)
            if state not in MODULE_STATES:
                raise ParseError(f"toolchain probe line {number}: bad module state {state!r}")
            probe.modules[name] = state
        elif kind == "pkg":
            _, name, version = _fields(line, 3, number)
            probe.packages[name] = version
        elif kind == "cgroupfs":
            probe.cgroup_fs = rest
        elif kind == "cgroup":
            _, fstype, mountpoint, options = _fields(line, 4, number)
            probe.cgroup_mounts.append(CgroupMount(fstype, mountpoint,
                                                   tuple(options.split(","))))
        elif kind == "cgroup2-controllers":
            _, mountpoint, controllers = _fields(line, 3, number)
            probe.cgroup2_controllers[mountpoint] = tuple(controllers.split())
        else:
            raise ParseError(f"toolchain probe line {number}: unexpected {line!r}")
    if not probe.kernel:
        raise ParseError("toolchain probe: no kernel line (not the probe's output?)")
    probe.os_release = parse_os_release("\n".join(os_lines))
    return probe
