"""The storage tools toolchain.check knows, and the verdict on each one. Pure functions.

A tool is in one of four states:

- usable: its command ran and the kernel side it needs is loaded, built in or loadable;
- unconfirmed: its command ran, but its kernel module is not loaded and the host's
  module tree (/lib/modules/RELEASE) cannot be read, so nobody can say whether it loads
  (typical inside containers);
- broken: the binary is there but its command fails, or the kernel lacks the module;
- missing: no binary on PATH or in the sbin directories.

Without --require every state is only listed (OK). A required tool that is missing or
broken is CRIT, an unconfirmed one WARN.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import ParseError, UsageError
from ..core.findings import Finding, Severity
from ..core.targets import split_list
from .parse import Probe, distribution_family

PAGE = "runbooks/toolchain/"
USABLE, UNCONFIRMED, BROKEN, MISSING = "usable", "unconfirmed", "broken", "missing"
KERNEL_WORDS = {"loaded": "loaded", "builtin": "built in", "module": "loadable",
                "absent": "absent", "unknown": "not loaded"}
# cgroup v1 hierarchies carry their controllers among the super-block options.
V1_CONTROLLERS = {"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "hugetlb",
                  "memory", "misc", "net_cls", "net_prio", "perf_event", "pids", "rdma"}


@dataclass(frozen=True)
class Tool:
    """A storage tool: how to recognise it and which package brings it."""

    key: str
    what: str  # for the operator: what the tool is for
    probe: str  # the collect script's tool key (lvm and lvmcache share one)
    command: str = ""  # the cheap command the probe runs, for messages
    version: str = ""  # regular expression; group 1 is the version
    works: str = ""  # output that proves it ran; empty: exit status 0 does
    modules: tuple[str, ...] = ()
    debian: str = ""  # package on Debian and Ubuntu ("" = no package)
    rhel: str = ""  # package on Fedora, RHEL and rebuilds
    ubuntu: str = ""  # where Ubuntu differs from Debian
    no_package: str = ""  # why there is none, and what to use instead
    none_short: str = ""  # the same in a few words, for the listing
    aliases: tuple[str, ...] = ()
    version_from: str = ""  # package whose version stands in when the tool prints none

    def package(self, family: str, distro: str = "") -> str:
        if family == "debian":
            return (self.ubuntu if distro == "ubuntu" and self.ubuntu else self.debian)
        if family == "rhel":
            return self.rhel
        both = [f"Debian/Ubuntu: {self.debian}" if self.debian else "",
                f"Fedora/RHEL: {self.rhel}" if self.rhel else ""]
        return "; ".join(p for p in both if p)


TOOLS: tuple[Tool, ...] = (
    Tool("parted", "partition tables, alignment checks", "parted", "parted --version",
         version=r"parted \(GNU parted\) (\S+)", debian="parted", rhel="parted"),
    Tool("lvm", "LVM logical volumes", "lvm", "lvm segtypes", works=r"(?m)^\s*linear$",
         modules=("dm_mod",), debian="lvm2", rhel="lvm2", aliases=("lvm2",),
         version_from="lvm2"),
    Tool("thin", "thin pool metadata check and repair (thin_check: without it LVM "
         "activates no thin pool)", "thin",
         "thin_check --version", version=r"(\d+\.\d+[\w.+~-]*)",
         modules=("dm_mod", "dm_thin_pool"), debian="thin-provisioning-tools",
         rhel="device-mapper-persistent-data",
         aliases=("thin_check", "thin-provisioning-tools", "device-mapper-persistent-data")),
    Tool("lvmcache", "dm-cache through LVM (lvconvert --type cache)", "lvm", "lvm segtypes",
         works=r"(?m)^\s*cache$", modules=("dm_mod", "dm_cache"), debian="lvm2",
         rhel="lvm2", aliases=("dm-cache", "dm_cache"), version_from="lvm2"),
    Tool("bcache", "SSD cache in front of a disk (make-bcache)", "bcache", "make-bcache -h",
         works=r"Usage: make-bcache", modules=("bcache",), debian="bcache-tools",
         version_from="bcache-tools",
         rhel="bcache-tools (Fedora; RHEL kernels lack bcache)",
         aliases=("make-bcache", "bcache-tools")),
    Tool("flashcache", "the old SSD cache module (flashcache_create)", "flashcache",
         modules=("flashcache",),
         no_package="flashcache is unmaintained and gone from distributions; "
         "use bcache (bcache-tools) or lvmcache (lvm2)",
         none_short="none (use bcache or lvmcache)"),
    Tool("multipath", "one device over several paths to a LUN", "multipath", "multipath -h",
         version=r"multipath-tools v(\S+)", works=r"multipath-tools v",
         modules=("dm_mod", "dm_multipath"), debian="multipath-tools",
         rhel="device-mapper-multipath",
         aliases=("multipath-tools", "device-mapper-multipath", "multipathd")),
    Tool("iscsiadm", "iSCSI initiator", "iscsiadm", "iscsiadm --version",
         version=r"iscsiadm version (\S+)", modules=("iscsi_tcp",), debian="open-iscsi",
         rhel="iscsi-initiator-utils",
         aliases=("iscsi", "open-iscsi", "iscsi-initiator-utils")),
    Tool("targetcli", "LIO iSCSI target shell", "targetcli", "import targetcli",
         version=r"targetcli version (\S+)", modules=("target_core_mod",),
         debian="targetcli-fb", rhel="targetcli", aliases=("targetcli-fb", "lio")),
    Tool("ceph", "Ceph cluster client", "ceph", "ceph --version",
         version=r"ceph version (\S+)", debian="ceph-common", rhel="ceph-common",
         aliases=("ceph-common",)),
    Tool("zfs", "ZFS pools and datasets", "zfs", "zfs version",
         version=r"zfs-(\d\S*)", modules=("zfs",),
         debian="zfsutils-linux and zfs-dkms (contrib)", ubuntu="zfsutils-linux",
         rhel="zfs (OpenZFS repository)", aliases=("zfsutils-linux",)),
    Tool("vxvm", "Veritas Volume Manager (vxdctl mode)", "vxvm", "vxdctl mode",
         works=r"mode: enabled",
         no_package="commercial: Veritas InfoScale, no distribution package",
         none_short="none (Veritas InfoScale)",
         aliases=("vxdisk", "vxdctl", "veritas")),
    Tool("cgroups", "I/O limits per group of processes (io or blkio controller)", "",
         no_package="part of the kernel; systemd or cgroup-tools drive it",
         none_short="none (kernel)",
         aliases=("cgroup", "cgroup2")),
)
TOOL_KEYS = tuple(t.key for t in TOOLS)


def resolve(names: list[str]) -> list[str]:
    """Tool keys for names typed by the operator (keys, binaries or package names)."""
    by_name = {}
    for tool in TOOLS:
        for name in (tool.key, *tool.aliases):
            by_name[name.lower()] = tool.key
    keys = []
    for name in names:
        key = by_name.get(name.lower())
        if key is None:
            raise UsageError(f"unknown tool {name!r}: choose from {', '.join(TOOL_KEYS)}")
        if key not in keys:
            keys.append(key)
    return keys


def selection(require: str | None, tools: str | None) -> tuple[list[str], list[str] | None]:
    """--require and --tools as tool keys (``None``: every tool is listed).

    An option given with no name in it (``--require ""`` from an empty variable)
    is an error, not "nothing required": a monitoring check built that way would
    be OK for ever.
    """
    for option, value in (("--require", require), ("--tools", tools)):
        if value is not None and not split_list(value):
            raise UsageError(f"{option} names no tool: give tool names, comma separated "
                             f"(or leave {option} out)")
    return resolve(split_list(require)), resolve(split_list(tools)) or None


STATE_WORDS = {MISSING: "not installed", BROKEN: "broken", UNCONFIRMED: "unconfirmed"}


def ok_text(findings: list[Finding]) -> str:
    """What OK means when no tool is a problem: only required tools count, so say so.

    'nothing required is missing (no --require given); 6 optional tools not installed'
    """
    tools = [f for f in findings if f.check == "toolchain.tool"]
    if any(f.data["required"] for f in tools):
        head = "every required tool is usable"
    else:
        head = "nothing required is missing (no --require given)"
    states = Counter(f.data["state"] for f in tools
                     if not f.data["required"] and f.data["state"] in STATE_WORDS)
    tail = [f"{states[s]} optional tool{'' if states[s] == 1 else 's'} {STATE_WORDS[s]}"
            for s in (MISSING, BROKEN, UNCONFIRMED) if states[s]]
    return "; ".join([head, *tail])


def metrics(findings: list[Finding]) -> dict[str, float]:
    """Perfdata: how many tools are usable and how many missing, over every target."""
    tools = [f for f in findings if f.check == "toolchain.tool"]
    return {"usable": sum(1 for f in tools if f.data["state"] == USABLE),
            "missing": sum(1 for f in tools if f.data["state"] == MISSING)}


FAMILY_TEXT = {"debian": "Debian/Ubuntu", "rhel": "Fedora/RHEL", "other": "unknown"}
LISTING_HEADER = ("TOOL", "STATE", "VERSION", "KERNEL", "PACKAGE")


def listing(findings: list[Finding]) -> list[str]:
    """The table format's listing: every tool of every target, not only the problems.

    Per target a line naming its distribution, then aligned columns, then a blank line.
    """
    by_target: dict[str, list[Finding]] = {}
    for f in findings:
        if f.check == "toolchain.tool":
            by_target.setdefault(f.target, []).append(f)
    lines = []
    for target, tools in by_target.items():
        first = tools[0].data
        family = FAMILY_TEXT.get(first["family"], first["family"])
        lines.append(f"{target}: {first['distribution'] or 'unknown distribution'} "
                     f"({family} packages)")
        rows = [LISTING_HEADER]
        for f in tools:
            d = f.data
            kernel = kernel_summary(d["kernel"]) if d["kernel"] and d["state"] != MISSING \
                else "-"
            rows.append((f.subject, d["state"], d["version"] or "-", kernel,
                         d["package_text"] or "-"))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for row in rows:
            cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:4])]
            lines.append("  ".join([*cells, row[4]]).rstrip())
        lines.append("")
    return lines


@dataclass
class Verdict:
    """The state of one tool on one host, with what the listing and findings show."""

    tool: str
    state: str
    version: str = ""
    path: str = ""
    kernel: dict[str, str] = field(default_factory=dict)  # module -> probe state
    package: str = ""
    detail: str = ""  # why it is not usable, or what it runs as

    @property
    def kernel_text(self) -> str:
        return kernel_summary(self.kernel)


def kernel_summary(modules: dict[str, str]) -> str:
    """Modules grouped by state: 'dm_mod, dm_multipath not loaded'."""
    groups: dict[str, list[str]] = {}
    for module, state in modules.items():
        groups.setdefault(KERNEL_WORDS[state], []).append(module)
    return "; ".join(f"{', '.join(mods)} {word}" for word, mods in groups.items())


def _version(pattern: str, text: str) -> str:
    if not pattern:
        return ""
    match = re.search(pattern, text)
    return match.group(1) if match else ""


def _install_hint(tool: Tool, package: str) -> str:
    if package:
        return f"install {package}"
    return f"no package: {tool.no_package}" if tool.no_package else "no package known"


def judge_tool(tool: Tool, probe: Probe) -> Verdict:
    family = distribution_family(probe.os_release)
    package = tool.package(family, probe.os_release.get("ID", "").lower())
    if tool.key == "cgroups":
        return judge_cgroups(tool, probe, package)
    found = probe.tools.get(tool.probe)
    if found is None:
        raise ParseError(f"toolchain probe: no line for {tool.probe}")
    verdict = Verdict(tool.key, MISSING, package=package)
    if not found.found:
        verdict.detail = f"{found.binary} not found; {_install_hint(tool, package)}"
        return verdict
    verdict.path = found.path
    verdict.version = (_version(tool.version, found.text)
                       or probe.packages.get(tool.version_from, ""))
    verdict.kernel = {m: probe.modules.get(m, "unknown") for m in tool.modules}
    if found.exit_status is not None:
        ran = (re.search(tool.works, found.text) is not None if tool.works
               else found.exit_status == 0)
        if not ran:
            first = found.output[0] if found.output else f"exit status {found.exit_status}"
            verdict.state = BROKEN
            verdict.detail = f"`{tool.command}` fails: {first}"
            return verdict
    absent = [m for m, s in verdict.kernel.items() if s == "absent"]
    unknown = [m for m, s in verdict.kernel.items() if s == "unknown"]
    if absent:
        verdict.state = BROKEN
        verdict.detail = (f"the kernel has no {', '.join(absent)} "
                          f"(not in /lib/modules/{probe.kernel})")
    elif unknown:
        verdict.state = UNCONFIRMED
        verdict.detail = (f"{', '.join(unknown)} not loaded, and /lib/modules/{probe.kernel} "
                          "cannot be read here: cannot tell whether it loads")
    else:
        verdict.state = USABLE
    return verdict


def _v1_controllers(probe: Probe) -> list[str]:
    found = {o for m in probe.cgroup_mounts if m.fstype == "cgroup" for o in m.options
             if o in V1_CONTROLLERS}
    return sorted(found)


def judge_cgroups(tool: Tool, probe: Probe, package: str) -> Verdict:
    """cgroup v2 (cgroup2fs at /sys/fs/cgroup), v1, or hybrid; usable with an I/O controller."""
    v1 = _v1_controllers(probe)
    v2_mounts = [m.mountpoint for m in probe.cgroup_mounts if m.fstype == "cgroup2"]
    v2 = sorted({c for mp in v2_mounts for c in probe.cgroup2_controllers.get(mp, ())})
    verdict = Verdict(tool.key, MISSING, package=package or tool.none_short)
    if not v1 and not v2_mounts:
        verdict.detail = "no cgroup filesystem mounted"
        return verdict
    if v2_mounts and not v1:
        layout = "v2"
    elif v1 and v2_mounts:
        layout = "hybrid"
    else:
        layout = "v1"
    verdict.path = "/sys/fs/cgroup"
    verdict.version = f"{layout} ({probe.cgroup_fs or '?'})"
    if "io" in v2:
        verdict.state, verdict.detail = USABLE, "v2 io controller (io.max, io.weight)"
    elif "blkio" in v1:
        verdict.state, verdict.detail = USABLE, "v1 blkio controller"
    else:
        verdict.state = BROKEN
        listed = " ".join(v2 or v1) or "none"
        verdict.detail = f"no I/O controller (controllers: {listed})"
    return verdict


def _message(verdict: Verdict) -> str:
    if verdict.state == MISSING:
        return f"missing: {verdict.detail}"
    version = f" {verdict.version}" if verdict.version else ""
    kernel = f", kernel {verdict.kernel_text}" if verdict.kernel else ""
    if verdict.state == USABLE:
        extra = f": {verdict.detail}" if verdict.detail else ""
        return f"usable{version}{kernel}{extra}"
    return f"{verdict.state}{version}: {verdict.detail}"


def judge(target: str, probe: Probe, required: list[str],
          only: list[str] | None = None) -> list[Finding]:
    """One finding per tool (``only`` these, plus the required ones)."""
    wanted = set(only or TOOL_KEYS) | set(required)
    family = distribution_family(probe.os_release)
    findings = []
    for tool in TOOLS:
        if tool.key not in wanted:
            continue
        verdict = judge_tool(tool, probe)
        is_required = tool.key in required
        severity = Severity.OK
        if is_required and verdict.state in (MISSING, BROKEN):
            severity = Severity.CRIT
        elif is_required and verdict.state == UNCONFIRMED:
            severity = Severity.WARN
        data: dict[str, Any] = {
            "state": verdict.state, "version": verdict.version, "path": verdict.path,
            "kernel": verdict.kernel, "package": verdict.package, "family": family,
            "distribution": probe.os_release.get("PRETTY_NAME", ""),
            "kernel_release": probe.kernel, "required": is_required, "what": tool.what,
            "detail": verdict.detail, "package_text": verdict.package or tool.none_short,
        }
        findings.append(Finding(
            "toolchain.tool", severity, target, tool.key, _message(verdict),
            why="a required storage tool that is missing or does not work stalls every "
            "exercise or repair that needs it; install it before the class or the incident",
            page=PAGE, data=data,
        ))
    return findings
