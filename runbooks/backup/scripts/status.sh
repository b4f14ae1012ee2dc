#!/bin/bash
# backup.status on the director host: one non-interactive bconsole session.
# $1 bconsole configuration, $2 hours of history, $3 seconds allowed.
# Prints BP-NOW, the session, then BP-EXIT, and when the director did not answer,
# what a plain TCP connect to it says (BP-PROBE). Missing pieces: BP-MISSING, BP-NOCONF.
conf=$1; hours=$2; allowed=$3
command -v bconsole >/dev/null 2>&1 || { echo "BP-MISSING bconsole"; exit 0; }
[ -r "$conf" ] || { echo "BP-NOCONF $conf"; exit 0; }
now=$(date +%s); since=$((now - hours * 3600))
echo "BP-NOW $now"
# Both queries select the row marks of runbooks.backup.parse (BPROW/BPLOG ... BPEOR).
# One row per job the judge needs: the last run of every (job, client) pair, the
# last successful one of each, and every run that started after $since. Plain
# SQL on the Job table (same in SQLite, PostgreSQL and MySQL catalogs); JobTDate
# is the start as epoch seconds, so the window needs no date functions.
job_query="SELECT 'BPROW', j.JobId, j.Name, COALESCE(c.Name, ''), j.Type, j.Level,"
job_query+=" j.JobStatus, j.StartTime, j.RealEndTime, j.JobTDate, j.JobErrors, j.JobFiles,"
job_query+=" j.JobBytes, 'BPEOR' FROM Job j LEFT JOIN Client c ON c.ClientId = j.ClientId"
job_query+=" WHERE j.Type = 'B' AND (j.JobTDate > $since"
job_query+=" OR j.JobId IN (SELECT MAX(JobId) FROM Job WHERE Type = 'B' GROUP BY Name, ClientId)"
job_query+=" OR j.JobId IN (SELECT MAX(JobId) FROM Job WHERE Type = 'B' AND JobStatus IN ('T', 'W')"
job_query+=" GROUP BY Name, ClientId)) ORDER BY j.JobId"
# The first fatal error of each (job, client) pair's last run: why it failed.
log_query="SELECT 'BPLOG', l.JobId, l.LogText, 'BPEOR' FROM Log l WHERE l.LogText LIKE"
log_query+=" '%Fatal error:%' AND l.JobId IN (SELECT MAX(JobId) FROM Job WHERE Type = 'B'"
log_query+=" GROUP BY Name, ClientId) ORDER BY l.LogId"
out=$(printf '%s\n' '.jobs type=B' '.clients' \
    ".sql query=\"$job_query\"" ".sql query=\"$log_query\"" '.api 2' '.status dir running' \
    '.api 0' | timeout "$allowed" bconsole -c "$conf" 2>&1)
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
  # The inner script's $0 and $1 are its own arguments: no expansion here.
  # shellcheck disable=SC2016
  probe=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$addr" "$port" 2>&1)
  case $? in
    0) echo "BP-PROBE $where accepts connections (wrong password or director name?)"; exit 0 ;;
    124) result="no answer within 5 s" ;;
    *) result=${probe##*: } ;;
  esac
done
echo "BP-PROBE $where $result"
