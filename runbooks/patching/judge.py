"""Judge the patching scans: findings from parsed data. Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..core.findings import Finding, Severity
from .parse import (
    OpenSSLScan,
    OpenSSLVersion,
    Process,
    StaleScan,
    backported_fix,
    compare_debian_versions,
    heartbleed_affected,
    library_name,
    library_version,
    parse_openssl_version,
    printable,
    upstream_of,
)

STALE_PAGE = "runbooks/stale-libs/"
STALE_CHECK = "patching.stale-libs"
STALE_ITEM = "in use"  # one monitoring service per host: "Stale libraries in use"
DEFAULT_CRITICAL = ("libssl", "libcrypto")
SHOWN_PROCESSES = 5  # a finding line naming hundreds of processes helps nobody

STALE_WHY = (
    "a process keeps running the code of a library that was replaced on disk until it "
    "restarts, so the update (often a security fix) has not reached it yet"
)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "es" if word.endswith("s") else "s")


def _who(processes: Sequence[Process]) -> str:
    """``sshd (pid 23), nginx (pids 10, 11; nginx.service)``, capped at a few names."""
    groups: dict[tuple[str, str | None], list[int]] = {}
    for process in sorted(processes, key=lambda p: p.pid):
        groups.setdefault((printable(process.name or "?"), process.unit), []).append(process.pid)
    parts = []
    for (name, unit), pids in groups.items():
        label = "pid" if len(pids) == 1 else "pids"
        numbers = ", ".join(map(str, pids[:SHOWN_PROCESSES]))
        if len(pids) > SHOWN_PROCESSES:
            numbers += f" and {len(pids) - SHOWN_PROCESSES} more"
        unit_text = f"; {printable(unit)}" if unit else ""
        parts.append(f"{name} ({label} {numbers}{unit_text})")
    if len(parts) > SHOWN_PROCESSES:
        parts = [*parts[:SHOWN_PROCESSES], f"{len(parts) - SHOWN_PROCESSES} more"]
    return ", ".join(parts)


def restart_hint(processes: Sequence[Process]) -> str:
    """The one-line fix: restart the systemd units, or the processes that have none."""
    units = sorted({p.unit for p in processes if p.unit})
    loose = [p for p in processes if not p.unit]
    hints = []
    if units:
        hints.append("systemctl restart " + " ".join(printable(u) for u in units))
    if loose:
        if units:
            hints.append("then restart the other processes (or the services that run them)")
        elif len({p.pid for p in loose}) == 1:
            hints.append("restart this process (or the service that runs it)")
        else:
            hints.append("restart these processes (or the services that run them)")
    return "; ".join(hints)


def _matches(name: str, patterns: Sequence[str]) -> bool:
    return any(pattern in name for pattern in patterns)


def _unmatched(scan: StaleScan, libraries: Sequence[str]) -> list[str]:
    """The --library strings that no mapped library's file name contains."""
    return [pattern for pattern in libraries
            if not any(pattern in name for name in scan.mapped)]


def _scan_verdict(scan: StaleScan, libraries: Sequence[str],
                  stale_pids: Sequence[int]) -> tuple[Severity, str]:
    """The verdict on the scan itself: UNKNOWN whenever it did not look at what it was
    asked to, so that no answer rests on an empty look."""
    readable = scan.processes - scan.denied
    unknown = []
    if not scan.processes:
        unknown.append("read no process: /proc lists none (is it mounted here?)")
    if scan.denied:
        unknown.append(f"could not read the memory maps of {scan.denied} of {scan.processes} "
                       "processes (run as root; a process holding privileges the check lacks "
                       "stays unreadable): they may map deleted libraries too")
    # Only a complete look can say that nothing maps a library by that name.
    missing = _unmatched(scan, libraries) if readable and not scan.denied else []
    if missing:
        unknown.append(f"no process maps a library matching {', '.join(missing)} "
                       f"({_plural(readable, 'process')} read)")
    if unknown:
        return Severity.UNKNOWN, "; ".join(unknown)
    scope = f" matching {', '.join(libraries)}" if libraries else ""
    if stale_pids:
        return Severity.OK, (f"{_plural(len(stale_pids), 'process')} of {scan.processes} map "
                             f"deleted libraries{scope}")
    # OK on purpose: the scan read the maps of every one of its processes (at least
    # one), and each library asked for is mapped by some of them, in its new copy.
    return Severity.OK, (f"no process maps a deleted library{scope} "
                         f"({_plural(readable, 'process')} read)")


def judge_stale(
    target: str,
    scan: StaleScan,
    owners: Mapping[str, str] | None,
    libraries: Sequence[str] = (),
    critical: Sequence[str] = DEFAULT_CRITICAL,
) -> list[Finding]:
    """One finding per replaced library still mapped (CRIT for ``critical`` names, WARN
    otherwise), then one for the scan itself (UNKNOWN when maps could not be read).

    ``owners`` maps library paths to the packages that installed them (None when the
    package manager could not be asked); ``libraries`` keeps only library file names
    containing one of those strings.
    """
    groups: dict[tuple[str, bool], list[Process]] = {}
    for process in scan.with_libraries:
        for path in process.libraries:
            if libraries and not _matches(library_name(path), libraries):
                continue
            groups.setdefault((path, process.same_root), []).append(process)
    findings = []
    for (path, same_root), processes in sorted(groups.items()):
        name = library_name(path)
        severity = (Severity.CRIT if any(name.startswith(c) for c in critical)
                    else Severity.WARN)
        if not same_root:
            origin = "; inside another root (a container or chroot): ask its package manager"
            package = None
        elif owners is None:
            origin, package = "", None
        else:
            package = owners.get(path)
            origin = f"; package {package}" if package else "; not installed by a package"
        message = (f"deleted but still mapped by {_who(processes)}{origin}; "
                   f"mitigate: {restart_hint(processes)}")
        findings.append(Finding(
            STALE_CHECK, severity, target, printable(path), message, why=STALE_WHY,
            page=STALE_PAGE,
            item=STALE_ITEM,
            data={"library": name, "package": package, "same_root": same_root,
                  "processes": [{"pid": p.pid, "name": p.name, "exe": p.exe, "unit": p.unit}
                                for p in sorted(processes, key=lambda p: p.pid)]},
        ))
    stale_pids = sorted({p.pid for group in groups.values() for p in group})
    severity, message = _scan_verdict(scan, libraries, stale_pids)
    findings.append(Finding(
        STALE_CHECK, severity, target, "", message, page=STALE_PAGE, item=STALE_ITEM,
        why="a process whose maps cannot be read may still run a replaced library",
        data={"processes": scan.processes, "denied": scan.denied,
              "stale_processes": stale_pids, "libraries": sorted({p for p, _ in groups})},
    ))
    return findings


# --- Heartbleed -------------------------------------------------------------------------

OPENSSL_PAGE = "runbooks/stale-libs/#heartbleed"
OPENSSL_CHECK = "patching.openssl"
OPENSSL_ITEM = "Heartbleed"
AFFECTED = "1.0.1 to 1.0.1f, 1.0.2-beta1"
OPENSSL_WHY = (
    "Heartbleed (CVE-2014-0160) lets any TLS peer read server memory, keys included; "
    "distributions backported the fix without changing the upstream version number"
)
BACKPORT_ADVICE = ("distributions backported the fix without changing this number: compare "
                   "the package version with your distribution's advisory")
_DISTRIBUTION_DIRS = ("/usr/lib/", "/lib/", "/usr/lib64/", "/lib64/", "/usr/lib32/")


def _package_verdicts(scan: OpenSSLScan) -> list[tuple[str, Severity, str, bool]]:
    """(package, severity, message, affected by number) per installed OpenSSL package."""
    verdicts = []
    for package in scan.packages:
        upstream = parse_openssl_version(f"OpenSSL {upstream_of(package.version)}")
        if upstream is None or not heartbleed_affected(upstream):
            verdicts.append((package.name, Severity.OK,
                             f"{package.version}: not affected by Heartbleed", False))
            continue
        fix = backported_fix(package.version)
        if fix is None:
            verdicts.append((package.name, Severity.WARN,
                             f"{package.version}: upstream {upstream.short} is in the affected "
                             f"range ({AFFECTED}); {BACKPORT_ADVICE}", True))
        elif compare_debian_versions(package.version, fix.fixed) >= 0:
            verdicts.append((package.name, Severity.OK,
                             f"{package.version}: fix backported ({fix.release}, "
                             f"{fix.advisory}, fixed in {fix.fixed})", True))
        else:
            verdicts.append((package.name, Severity.CRIT,
                             f"{package.version}: vulnerable; {fix.release} fixed it in "
                             f"{fix.fixed} ({fix.advisory}): upgrade, then restart", True))
    return verdicts


def _by_number(version: OpenSSLVersion, packaged: Sequence[Severity], private: bool) -> tuple[
        Severity, str]:
    """Severity of a version string that is not a package version."""
    if not heartbleed_affected(version):
        return Severity.OK, f"{version.text}: not affected by Heartbleed"
    if private:
        return Severity.CRIT, (f"{version.text}: in the affected range ({AFFECTED}) and not a "
                               "distribution's copy; treat as vulnerable unless its vendor "
                               "says the fix is in; upgrade the product that ships it")
    if packaged and all(s is Severity.OK for s in packaged):
        return Severity.OK, (f"{version.text}: in the affected range by number; the installed "
                             "packages carry the fix")
    if Severity.CRIT in packaged:
        return Severity.CRIT, (f"{version.text}: an installed package of this number is "
                               "vulnerable (see its finding)")
    return Severity.WARN, f"{version.text}: in the affected range ({AFFECTED}); {BACKPORT_ADVICE}"


def judge_openssl(target: str, scan: OpenSSLScan) -> list[Finding]:
    """Heartbleed verdicts for the openssl command, each installed OpenSSL package and
    each OpenSSL library that running processes map; UNKNOWN for what it could not see."""
    findings = []

    def add(subject: str, severity: Severity, message: str, **data: object) -> None:
        findings.append(Finding(OPENSSL_CHECK, severity, target, subject, message,
                                why=OPENSSL_WHY, page=OPENSSL_PAGE, item=OPENSSL_ITEM,
                                data=data))

    verdicts = _package_verdicts(scan)
    # Verdicts of packages whose number is in the range decide for the same number
    # printed by the command or found in a library the distribution installed.
    in_range = [severity for _, severity, _, affected in verdicts if affected]
    versions = {p.name: p.version for p in scan.packages}
    for name, severity, message, _ in verdicts:
        add(f"package {name}", severity, message, version=versions[name])
    if scan.command is not None:
        version = library_version(scan.command)
        if version is None:
            add("openssl version", Severity.UNKNOWN,
                f"unexpected output: {printable(scan.command[:80])}", output=scan.command)
        else:
            severity, message = _by_number(version, in_range, private=False)
            add("openssl version", severity, message, output=scan.command)
    for library in scan.libraries:
        data = {"processes": library.processes, "version": library.version_text,
                "deleted": library.deleted}
        if library.deleted:
            add(printable(library.path) + " (deleted)", Severity.WARN,
                f"an old copy is still mapped by {_plural(library.processes, 'process')}; "
                "its version cannot be read from disk: restart what maps it (patching.stale-libs "
                "names the processes)", **data)
            continue
        version = library.version
        if version is None:
            add(printable(library.path), Severity.OK,
                f"mapped by {_plural(library.processes, 'process')}; no version string in "
                "the file (OpenSSL 3 keeps it in libcrypto)", **data)
            continue
        private = not library.path.startswith(_DISTRIBUTION_DIRS)
        severity, message = _by_number(version, in_range, private)
        add(printable(library.path), severity,
            f"{message}; mapped by {_plural(library.processes, 'process')}", **data)
    for message in _openssl_blind_spots(scan, found_any=bool(findings)):
        add("", Severity.UNKNOWN, message, processes=scan.processes, denied=scan.denied)
    return findings


def _openssl_blind_spots(scan: OpenSSLScan, found_any: bool) -> list[str]:
    """Why the inventory may have missed an OpenSSL copy: UNKNOWN, never a silent OK.

    Finding no OpenSSL at all is UNKNOWN too, not OK: a statically linked copy
    (many vendor appliances and Go or Rust programs bundle their TLS library)
    is in no package and in no process's maps, so "none found" proves nothing.
    """
    reasons = []
    if not scan.processes:
        reasons.append("read no process: /proc lists none, so libraries that running "
                       "programs map were not looked at")
    elif scan.denied:
        reasons.append(f"could not read the memory maps of {scan.denied} of {scan.processes} "
                       "processes (run as root): an OpenSSL copy only they map is not judged")
    if not found_any:
        read = _plural(scan.processes - scan.denied, "process")
        reasons.append("found no OpenSSL: no openssl command, no libssl or openssl package "
                       f"(dpkg), and no libssl or libcrypto mapped by the {read} read")
    return reasons

