"""toolchain: which storage tools a host has, whether they work, and which package brings them.

Task: ``toolchain.check`` (read only). One probe per host finds parted, LVM with
its thin and cache targets, bcache, flashcache, multipath, the iSCSI initiator
and target tools, Ceph, ZFS, VxVM and the cgroup I/O controller, runs each
tool's cheapest version command, and looks at the kernel modules they need.
Layers: collect.py, parse.py, judge.py.
"""

from __future__ import annotations

from ..core.findings import Finding
from ..core.options import TargetOptions
from ..core.runner import collect_report, collection, finish, runbook_task
from ..core.targets import Target

CHECK_HELP = {
    "require": "Tools that must be usable (comma separated, e.g. parted,multipath): "
    "missing or broken is CRIT, unconfirmed WARN. Without it every tool is only listed.",
    "tools": "Only list these tools (comma separated; default: all). Names: parted, lvm, "
    "thin, lvmcache, bcache, flashcache, multipath, iscsiadm, targetcli, ceph, zfs, vxvm, "
    "cgroups; package and binary names work too.",
}


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
    from .judge import judge, listing, metrics, ok_text, selection
    from .parse import parse_probe

    fmt = check_format(opts.format)
    required, only = selection(require, tools)
    targets = opts.targets()

    async def work(target: Target) -> list[Finding]:
        return judge(target.name, parse_probe(await collect(target)), required, only)

    report = collect_report("toolchain.check", "Storage toolchain", "tool", targets, work,
                            opts.parallel)
    report.metrics.update(metrics(report.findings))
    report.ok_text = ok_text(report.findings)
    report.details = listing(report.findings)  # the table format shows every tool
    finish(report, fmt, opts.textfile_dir)


ns = collection("toolchain", check)
