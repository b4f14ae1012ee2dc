"""toolchain: which storage tools a host has, whether they work, and which package brings them.

Task: ``toolchain.check`` (read only). One probe per host finds parted, LVM with
its thin and cache targets, bcache, flashcache, multipath, the iSCSI initiator
and target tools, Ceph, ZFS, VxVM and the cgroup I/O controller, runs each
tool's cheapest version command, and looks at the kernel modules they need.
"""

from __future__ import annotations

import sys
from typing import TextIO

from invoke import Collection

from ..core.findings import Finding, Report
from ..core.options import TargetOptions
from ..core.runner import collect_report, finish, runbook_task
from ..core.targets import Target

CHECK_HELP = {
    "require": "Tools that must be usable (comma separated, e.g. parted,multipath): "
    "missing or broken is CRIT, unconfirmed WARN. Without it every tool is only listed.",
    "tools": "Only list these tools (comma separated; default: all). Names: parted, lvm, "
    "thin, lvmcache, bcache, flashcache, multipath, iscsiadm, targetcli, ceph, zfs, vxvm, "
    "cgroups; package and binary names work too.",
}
FAMILY_TEXT = {"debian": "Debian/Ubuntu", "rhel": "Fedora/RHEL", "other": "unknown"}


def _listing(report: Report, out: TextIO) -> None:
    """The table view: every tool of every target, not only the problems."""
    from .judge import kernel_summary

    by_target: dict[str, list[Finding]] = {}
    for f in report.findings:
        if f.check == "toolchain.tool":
            by_target.setdefault(f.target, []).append(f)
    for target, findings in by_target.items():
        first = findings[0].data
        family = FAMILY_TEXT.get(first["family"], first["family"])
        out.write(f"{target}: {first['distribution'] or 'unknown distribution'} "
                  f"({family} packages)\n")
        rows = [("TOOL", "STATE", "VERSION", "KERNEL", "PACKAGE")]
        for f in findings:
            d = f.data
            kernel = "-"
            if d["kernel"] and d["state"] != "missing":
                kernel = kernel_summary(d["kernel"])
            rows.append((f.subject, d["state"], d["version"] or "-", kernel,
                         d["package_text"] or "-"))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for row in rows:
            cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:4])]
            out.write("  ".join([*cells, row[4]]).rstrip() + "\n")
        out.write("\n")


@runbook_task(help=CHECK_HELP, label="TOOLCHAIN", targets="many")
def check(
    c,
    require=None,
    tools=None,
    *,
    opts: TargetOptions,
):
    """List the storage tools of each host: installed, usable, and the package to install.

    One read-only probe per host looks for parted, lvm (with the thin and cache
    targets), bcache, flashcache, multipath, iscsiadm, targetcli, ceph, zfs,
    VxVM and the cgroup I/O controller; it runs each tool's version command and
    checks the kernel modules the tool needs (loaded, built in, loadable from
    /lib/modules, or absent). Package names follow the host's distribution
    family from /etc/os-release (Debian/Ubuntu or Fedora/RHEL). Without
    --require the result is a listing and OK whatever is missing; the summary
    then says so and counts the optional tools that are not installed.
    """
    from ..core.render import check_format
    from .collect import collect
    from .judge import USABLE, judge, ok_text, selection
    from .parse import parse_probe

    fmt = check_format(opts.format)
    required, only = selection(require, tools)
    targets = opts.targets()

    async def work(target: Target) -> list[Finding]:
        return judge(target.name, parse_probe(await collect(target)), required, only)

    report = collect_report("toolchain.check", "Storage toolchain", "tool", targets, work,
                            opts.parallel)
    tools_seen = [f for f in report.findings if f.check == "toolchain.tool"]
    report.metrics["usable"] = sum(1 for f in tools_seen if f.data["state"] == USABLE)
    report.metrics["missing"] = sum(1 for f in tools_seen if f.data["state"] == "missing")
    report.ok_text = ok_text(report.findings)
    if fmt == "table":
        _listing(report, sys.stdout)
    finish(report, fmt)


ns = Collection("toolchain")
ns.add_task(check)
