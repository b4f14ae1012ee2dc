"""patching: prove that an update reached the running processes, not just the disk.

Tasks: ``patching.stale-libs`` (processes still mapping a replaced or deleted
shared library, by library, package and service) and ``patching.openssl``
(OpenSSL versions against the Heartbleed range). Both are read only.
Layers: collect.py, parse.py, judge.py.
"""

from __future__ import annotations

from ..core.options import TargetOptions
from ..core.runner import collect_report, collection, finish, runbook_task
from ..core.targets import Target, split_list

PATCHING_HELP = {
    "library": "Only libraries whose file name contains one of these strings "
    "(comma separated), e.g. libssl.",
    "crit_library": "Library name prefixes that make a finding CRIT instead of WARN "
    "(default libssl,libcrypto: TLS faces the network). Empty: everything WARN.",
}


@runbook_task(help=PATCHING_HELP, label="PATCHING", name="stale-libs", targets="many")
def stale_libs(
    c,
    library=None,
    crit_library="libssl,libcrypto",
    *,
    opts: TargetOptions,
):
    """Find processes still running a replaced shared library (deleted on disk).

    After an update, processes started before it keep the old library mapped
    until they restart; /proc/PID/maps shows it as "(deleted)". One pass over
    /proc per host finds them; findings are grouped by library, with the
    package that installed it (dpkg -S) and each process's systemd unit when
    it has one. CRIT for libssl/libcrypto (--crit-library), WARN for other
    libraries, UNKNOWN when some processes' maps cannot be read (not root).
    Deleted memfd, /dev/shm and System V mappings are not libraries and are
    ignored.
    """
    from .collect import package_owners, stale_scan
    from .judge import judge_stale

    targets = opts.targets()
    wanted = split_list(library)
    critical = split_list(crit_library)

    async def work(target: Target):
        scan = await stale_scan(target)
        paths = sorted({path for p in scan.with_libraries if p.same_root
                        for path in p.libraries})
        owners = await package_owners(target, paths)
        return judge_stale(target.name, scan, owners, wanted, critical)

    report = collect_report("patching.stale-libs", "Stale libraries", "", targets, work,
                            opts.parallel)
    libraries = [f for f in report.findings if f.subject and f.check == "patching.stale-libs"]
    report.metrics["stale_processes"] = sum(
        len(f.data.get("stale_processes", [])) for f in report.findings
        if f.check == "patching.stale-libs" and not f.subject)
    report.metrics["stale_libraries"] = len(libraries)
    finish(report, opts.format, opts.textfile_dir)


@runbook_task(label="PATCHING", targets="many")
def openssl(
    c,
    *,
    opts: TargetOptions,
):
    """Check OpenSSL against the Heartbleed range (CVE-2014-0160: 1.0.1 to 1.0.1f).

    Looks at `openssl version`, the installed libssl packages (dpkg-query) and
    the version string inside every OpenSSL library running processes map.
    Distributions backported the fix without changing the upstream number, so
    a number in the range is WARN unless the package version is known fixed
    (Debian 7 1.0.1e-2+deb7u5, Ubuntu 12.04 1.0.1-4ubuntu5.12: OK) or known
    vulnerable (CRIT); a copy outside the system library folders is CRIT.
    Old copies still mapped after an update are WARN (see patching.stale-libs).
    """
    from .collect import openssl_scan
    from .judge import judge_openssl

    targets = opts.targets()

    async def work(target: Target):
        return judge_openssl(target.name, await openssl_scan(target))

    report = collect_report("patching.openssl", "OpenSSL (Heartbleed)", "", targets, work,
                            opts.parallel)
    finish(report, opts.format, opts.textfile_dir)


ns = collection("patching", stale_libs, openssl)
