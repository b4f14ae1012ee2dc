"""Ask the director, through one non-interactive bconsole session on the director host."""

from __future__ import annotations

from ..core.errors import TargetError
from ..core.targets import Target
from .parse import DirectorState, parse_bacula_session

DEFAULT_BCONSOLE_CONFIG = "/etc/bacula/bconsole.conf"

# Both queries select the row marks of runbooks.backup.parse (BPROW/BPLOG ... BPEOR).
# One row per job the judge needs: the last run of every (job, client) pair, the
# last successful one of each, and every run that started after $since. Plain
# SQL on the Job table (same in SQLite, PostgreSQL and MySQL catalogs); JobTDate
# is the start as epoch seconds, so the window needs no date functions.
_JOB_QUERY = (
    "SELECT 'BPROW', j.JobId, j.Name, COALESCE(c.Name, ''), j.Type, j.Level, "
    "j.JobStatus, j.StartTime, j.RealEndTime, j.JobTDate, j.JobErrors, j.JobFiles, "
    "j.JobBytes, 'BPEOR' FROM Job j LEFT JOIN Client c ON c.ClientId = j.ClientId "
    "WHERE j.Type = 'B' AND (j.JobTDate > $since "
    "OR j.JobId IN (SELECT MAX(JobId) FROM Job WHERE Type = 'B' GROUP BY Name, ClientId) "
    "OR j.JobId IN (SELECT MAX(JobId) FROM Job WHERE Type = 'B' AND JobStatus IN ('T', 'W') "
    "GROUP BY Name, ClientId)) ORDER BY j.JobId"
)
# The first fatal error of each (job, client) pair's last run: why it failed.
_LOG_QUERY = (
    "SELECT 'BPLOG', l.JobId, l.LogText, 'BPEOR' FROM Log l WHERE l.LogText LIKE "
    "'%Fatal error:%' AND l.JobId IN (SELECT MAX(JobId) FROM Job WHERE Type = 'B' "
    "GROUP BY Name, ClientId) ORDER BY l.LogId"
)

# Constant script; its data comes in as positional parameters ($1 config, $2 hours
# of history, $3 seconds allowed). It prints BP-NOW, the session, then BP-EXIT,
# and when the director did not answer, what a plain TCP connect to it says.
STATUS_SCRIPT = r"""
conf=$1; hours=$2; allowed=$3
command -v bconsole >/dev/null 2>&1 || { echo "BP-MISSING bconsole"; exit 0; }
[ -r "$conf" ] || { echo "BP-NOCONF $conf"; exit 0; }
now=$(date +%s); since=$((now - hours * 3600))
echo "BP-NOW $now"
out=$(printf '%s\n' '.jobs type=B' '.clients' \
    ".sql query=\"QUERY\"" ".sql query=\"LOGQUERY\"" '.api 2' '.status dir running' '.api 0' |
    timeout "$allowed" bconsole -c "$conf" 2>&1)
code=$?
printf '%s\n' "$out"
echo "BP-EXIT $code"
case $out in *"1000 OK"*) exit 0 ;; esac
where=$(printf '%s\n' "$out" | sed -n 's/^Connecting to Director \(.*\)$/\1/p' | head -n 1)
[ -n "$where" ] || exit 0
host=${where%:*}; port=${where##*:}
# Try every address the name has (localhost may be ::1 first, with no IPv6 here).
addrs=$(getent ahosts "$host" 2>/dev/null | awk '{print $1}' | awk '!seen[$0]++')
[ -n "$addrs" ] || { echo "BP-PROBE $where cannot resolve $host"; exit 0; }
for addr in $addrs; do
  probe=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$addr" "$port" 2>&1)
  case $? in
    0) echo "BP-PROBE $where accepts connections (wrong password or director name?)"; exit 0 ;;
    124) result="no answer within 5 s" ;;
    *) result=${probe##*: } ;;
  esac
done
echo "BP-PROBE $where $result"
""".replace("LOGQUERY", _LOG_QUERY).replace("QUERY", _JOB_QUERY)


def _marker(lines: list[str], name: str) -> str | None:
    for line in lines:
        if line.startswith(name + " "):
            return line[len(name) + 1:].strip()
    return None


def interpret(target_name: str, stdout: str, allowed: float) -> DirectorState:
    """Turn the script's output into director state, or a TargetError naming the cause."""
    lines = stdout.splitlines()
    if (missing := _marker(lines, "BP-MISSING")) is not None:
        raise TargetError(f"{target_name}: {missing} is not installed here: run backup.status "
                          "on the director host (bacula-console)")
    if (conf := _marker(lines, "BP-NOCONF")) is not None:
        raise TargetError(f"{target_name}: cannot read bconsole configuration {conf} "
                          "(give --config, or run as a user that may read it)")
    exit_text = _marker(lines, "BP-EXIT")
    now_text = _marker(lines, "BP-NOW") or "0"
    if "1000 OK" not in stdout:
        where = next((ln[len("Connecting to Director "):] for ln in lines
                      if ln.startswith("Connecting to Director ")), "the director")
        probe = _marker(lines, "BP-PROBE")
        if exit_text == "124":
            cause = f"no answer from the director at {where} within {allowed:g}s"
        else:
            detail = [ln for ln in lines if ln and not ln.startswith(("BP-", "Connecting"))]
            cause = f"bconsole could not talk to the director at {where}"
            if probe:
                cause += f" ({probe.split(' ', 1)[1]})"
            elif detail:
                cause += f": {detail[-1].strip()}"
            cause += f", bconsole exit {exit_text}"
        raise TargetError(f"{target_name}: {cause}")
    return parse_bacula_session(stdout, now=int(now_text) if now_text.isdigit() else 0)


async def director_state(target: Target, config: str, hours: int,
                         allowed: float) -> DirectorState:
    """One bconsole session on the target; the director's jobs, clients and history."""
    result = await target.run(["bash", "-c", STATUS_SCRIPT, "bp-backup-status", config,
                               str(int(hours)), f"{allowed:g}"])
    if not result.ok and "BP-NOW" not in result.stdout:
        raise TargetError(f"{target.name}: bconsole session: {result.first_error_line()}")
    return interpret(target.name, result.stdout, allowed)
