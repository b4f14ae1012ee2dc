"""patching: prove that an update reached the running processes, not just the disk.

Tasks: ``patching.stale-libs`` (processes still mapping a replaced or deleted
shared library, by library, package and service) and ``patching.openssl``
(OpenSSL versions against the Heartbleed range). Both are read only.
"""

from __future__ import annotations

from typing import Any

from invoke import Collection

from ..core.runner import collect_report, finish, runbook_task, targets_from
from ..core.targets import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_PARALLEL,
    Target,
    split_list,
)

# One pass over /proc (constant script: process names and paths only ever appear in
# its output, as data). Prints the number of processes and of unreadable maps; the
# file name of every shared object any process maps (so that a --library naming
# nothing mapped is told apart from one with nothing stale);
# then per process that maps a deleted *.so file: its mappings (one line per file),
# name (/proc/PID/status escapes newlines), executable and cgroup (newlines written as
# \012, as the kernel writes them in maps) and whether it shares our root directory.
STALE_SCAN = r"""
export LC_ALL=C
nl='
'
one_line() {
  rest=$1 out=
  while :; do
    case $rest in
      *"$nl"*) out="$out${rest%%"$nl"*}\\012" rest=${rest#*"$nl"} ;;
      *) printf '%s' "$out$rest"; return ;;
    esac
  done
}
cd /proc || exit 1
set -- [0-9]*
[ -e "$1" ] || set --  # no process directory at all: an unmounted /proc in a chroot
printf 'processes\t%s\n' "$#"
printf 'denied\t%s\n' "$(grep -c -m1 '' [0-9]*/maps 2>&1 >/dev/null | grep -c 'Permission denied')"
names=$(grep -h -o -E '/[^/]*\.so[^/]*$' [0-9]*/maps 2>/dev/null | awk '{
  name = substr($0, 2); sub(/ \(deleted\)$/, "", name)
  if (!(name in seen)) { seen[name] = 1; print "mapped\t" name }
}' | sort)
printf 'libraries\t%s\n' "$(printf '%s' "$names" | grep -c '')"
[ -z "$names" ] || printf '%s\n' "$names"
hits=$(grep -H -E '/[^/]*\.so[^/]* \(deleted\)$' [0-9]*/maps 2>/dev/null | awk '{
  pid = $1; sub(/\/maps:.*/, "", pid)
  path = $0; sub(/^[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +/, "", path)
  line = pid "\tmap\t" $4 " " $5 "\t" path
  if (!(line in seen)) { seen[line] = 1; print line }
}')
[ -n "$hits" ] || exit 0
printf '%s\n' "$hits"
for pid in $(printf '%s\n' "$hits" | cut -f1 | sort -un); do
  (
    while IFS= read -r line; do
      case $line in Name:*) printf '%s\tname\t%s\n' "$pid" "${line#Name:?}"; break ;; esac
    done < "$pid/status" || exit
    printf '%s\texe\t%s\n' "$pid" "$(one_line "$(readlink "$pid/exe")")"
    while IFS= read -r line; do
      case $line in
        0::*|*:name=systemd:*) printf '%s\tcgroup\t%s\n' "$pid" "$(one_line "$line")" ;;
      esac
    done < "$pid/cgroup"
    if [ "$pid/root" -ef / ]; then root=same; else root=other; fi
    printf '%s\troot\t%s\n' "$pid" "$root"
  ) 2>/dev/null
done
"""

# `openssl version`, the installed libssl packages, and every OpenSSL library that
# running processes map: how many processes map it and the version string inside the
# file, read through /proc/PID/root so that a container's own copy is the one read.
OPENSSL_SCAN = r"""
export LC_ALL=C
date='[0-9]{1,2} [A-Z][a-z]{2} [0-9]{4}'
openssl_text="OpenSSL [0-9]+\.[0-9]+\.[0-9]+[a-z]*(-[A-Za-z0-9]+)? +$date"
libressl_text='LibreSSL [0-9]+\.[0-9]+\.[0-9]+'
if command -v openssl >/dev/null 2>&1; then
  printf 'command\t%s\n' "$(openssl version 2>&1 | head -n 1)"
else
  printf 'command\t-\n'
fi
if command -v dpkg-query >/dev/null 2>&1; then
  dpkg-query -W -f='package\t${db:Status-Abbrev}\t${Package}\t${Version}\n' \
      'libssl*' openssl 2>/dev/null
fi
cd /proc 2>/dev/null || { printf 'maps\t0\t0\n'; exit 0; }
set -- [0-9]*
[ -e "$1" ] || set --
printf 'maps\t%s\t%s\n' "$#" \
  "$(grep -c -m1 '' [0-9]*/maps 2>&1 >/dev/null | grep -c 'Permission denied')"
grep -H -E '/lib(ssl|crypto)[^/]*\.so[^/]*$' [0-9]*/maps 2>/dev/null \
  | sed -n 's|^\([0-9][0-9]*\)/maps:[^/]*\(/.*\)$|\1 \2|p' | sort -u \
  | awk '{ pid = $1; sub(/^[0-9]+ /, ""); n[$0]++; p[$0] = pid }
         END { for (k in n) print n[k], p[k], k }' \
  | sort -k3 | while read -r count pid path; do
      case $path in
        *" (deleted)") version= ;;
        *) version=$(grep -a -o -m1 -E "$openssl_text|$libressl_text" "$pid/root$path" \
                         2>/dev/null | head -n 1) ;;
      esac
      printf 'library\t%s\t%s\t%s\n' "$count" "${version:--}" "$path"
    done
"""

PATCHING_HELP = {
    "library": "Only libraries whose file name contains one of these strings "
    "(comma separated), e.g. libssl.",
    "crit_library": "Library name prefixes that make a finding CRIT instead of WARN "
    "(default libssl,libcrypto: TLS faces the network). Empty: everything WARN.",
}


async def stale_scan(target: Target) -> Any:
    from ..core.errors import TargetError
    from .parse import parse_stale_scan

    result = await target.run(["sh", "-c", STALE_SCAN])
    if not result.ok:
        raise TargetError(f"{target.name}: scanning /proc: {result.first_error_line()}")
    return parse_stale_scan(result.stdout)


async def package_owners(target: Target, paths: list[str]) -> dict[str, str] | None:
    """Which package installed each path, from one ``dpkg -S`` call; None without dpkg.

    Each path is asked in both spellings of merged /usr (the kernel shows
    /usr/lib/..., dpkg may have recorded /lib/...).
    """
    from ..core.errors import TargetError
    from .parse import parse_dpkg_search, usr_merge_twin

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


@runbook_task(help=PATCHING_HELP, label="PATCHING", name="stale-libs")
def stale_libs(
    c,
    library=None,
    crit_library="libssl,libcrypto",
    host=None,
    hosts=None,
    limit=None,
    container=None,
    format=None,
    known_hosts=None,
    accept_new=False,
    identity=None,
    connect_timeout=DEFAULT_CONNECT_TIMEOUT,
    timeout=DEFAULT_COMMAND_TIMEOUT,
    parallel=DEFAULT_PARALLEL,
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
    from .judge import judge_stale

    targets = targets_from(host=host, hosts=hosts, limit=limit, container=container,
                           known_hosts=known_hosts, accept_new=accept_new, identity=identity,
                           connect_timeout=connect_timeout, timeout=timeout)
    wanted = split_list(library)
    critical = split_list(crit_library)

    async def work(target: Target):
        scan = await stale_scan(target)
        paths = sorted({path for p in scan.with_libraries if p.same_root
                        for path in p.libraries})
        owners = await package_owners(target, paths)
        return judge_stale(target.name, scan, owners, wanted, critical)

    report = collect_report("patching.stale-libs", "Stale libraries", "", targets, work,
                            int(parallel))
    libraries = [f for f in report.findings if f.subject and f.check == "patching.stale-libs"]
    report.metrics["stale_processes"] = sum(
        len(f.data.get("stale_processes", [])) for f in report.findings
        if f.check == "patching.stale-libs" and not f.subject)
    report.metrics["stale_libraries"] = len(libraries)
    finish(report, format)


@runbook_task(label="PATCHING")
def openssl(
    c,
    host=None,
    hosts=None,
    limit=None,
    container=None,
    format=None,
    known_hosts=None,
    accept_new=False,
    identity=None,
    connect_timeout=DEFAULT_CONNECT_TIMEOUT,
    timeout=DEFAULT_COMMAND_TIMEOUT,
    parallel=DEFAULT_PARALLEL,
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
    from ..core.errors import TargetError
    from .judge import judge_openssl
    from .parse import parse_openssl_scan

    targets = targets_from(host=host, hosts=hosts, limit=limit, container=container,
                           known_hosts=known_hosts, accept_new=accept_new, identity=identity,
                           connect_timeout=connect_timeout, timeout=timeout)

    async def work(target: Target):
        result = await target.run(["sh", "-c", OPENSSL_SCAN])
        if not result.ok:
            raise TargetError(f"{target.name}: OpenSSL inventory: {result.first_error_line()}")
        return judge_openssl(target.name, parse_openssl_scan(result.stdout))

    report = collect_report("patching.openssl", "OpenSSL (Heartbleed)", "", targets, work,
                            int(parallel))
    finish(report, format)


ns = Collection("patching")
ns.add_task(stale_libs)
ns.add_task(openssl)
