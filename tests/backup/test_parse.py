"""backup.status parse and judge layers, on bconsole sessions captured in the bacula lab.

The Bacula samples are real output of the lab (Debian's Bacula 9.6.7); the
Bareos sample is reconstructed (see tests/data/bareos/FORMATS.md).
"""


import pytest

from runbooks.backup import collect
from runbooks.backup.judge import Thresholds, judge_state
from runbooks.backup.parse import (
    JOB_STATUS,
    LOG_START,
    ROW_END,
    ROW_START,
    parse_bacula_session,
    parse_bareos_api,
    parse_fatal_lines,
    parse_sql_rows,
)
from runbooks.core.errors import ParseError, TargetError
from runbooks.core.findings import Severity
from tests.helpers import DATA


def sample(name: str) -> str:
    return (DATA / name).read_text()


def by_subject(findings):
    return {f.subject: f for f in findings}


def test_queries_select_the_marks_the_parser_looks_for():
    assert f"'{ROW_START}'" in collect.STATUS_SCRIPT and f"'{LOG_START}'" in collect.STATUS_SCRIPT
    assert collect.STATUS_SCRIPT.count(f"'{ROW_END}'") == 2


def test_failures_session_is_parsed_row_by_row():
    state = collect.interpret("dir", sample("bacula/session-failures.txt"), 30)
    assert state.system == "bacula" and state.version == "9.6.7"
    assert state.definitions == ["backup-fd1", "backup-fd2", "archive-fd2", "slow-fd1"]
    assert state.clients == ["fd1-fd", "fd2-fd"]
    assert [(r.jobid, r.name, r.client, r.status) for r in state.runs] == [
        (1, "backup-fd1", "fd1-fd", "T"), (2, "backup-fd2", "fd2-fd", "f"),
        (3, "slow-fd1", "fd1-fd", "A"), (4, "backup-fd1", "fd1-fd", "f")]
    assert state.runs[0].files == 655 and state.runs[0].bytes == 781148
    assert state.reasons[2].startswith("Unable to connect to Client: fd2-fd on fd2:9102")
    assert state.reasons[4].startswith("[SF0209] Out of freespace")
    assert state.running == []


def test_judging_failures_names_clients_and_reasons():
    state = collect.interpret("dir", sample("bacula/session-failures.txt"), 30)
    findings = by_subject(judge_state("dir", state, Thresholds()))
    fd2 = findings["backup-fd2 on fd2-fd"]
    assert fd2.severity is Severity.CRIT
    assert "f (fatal error)" in fd2.message and "Connection refused" in fd2.message
    assert "no successful backup" in fd2.message
    fd1 = findings["backup-fd1 on fd1-fd"]
    assert fd1.severity is Severity.CRIT and "last good JobId 1" in fd1.message
    assert "Out of freespace" in fd1.message
    assert findings["slow-fd1 on fd1-fd"].message.startswith("last run JobId 3 A (canceled)")
    assert findings["archive-fd2"].severity is Severity.WARN
    assert findings["archive-fd2"].data["never_ran"] is True


def test_a_good_last_run_is_ok_until_it_is_too_old():
    state = collect.interpret("dir", sample("bacula/session-running.txt"), 30)
    pair = by_subject(judge_state("dir", state, Thresholds()))["backup-fd2 on fd2-fd"]
    assert pair.severity is Severity.OK, pair.message
    # The same catalog read 30 hours later: the last good backup is now old.
    state.now += 30 * 3600
    late = by_subject(judge_state("dir", state, Thresholds()))["backup-fd2 on fd2-fd"]
    assert late.severity is Severity.WARN and "older than 26h" in late.message
    state.now += 30 * 3600
    later = by_subject(judge_state("dir", state, Thresholds()))["backup-fd2 on fd2-fd"]
    assert later.severity is Severity.CRIT and "older than 50h" in later.message


def test_running_jobs_come_from_the_api2_status_blocks():
    state = collect.interpret("dir", sample("bacula/session-running.txt"), 30)
    assert [(j.jobid, j.name, j.client, j.status, j.description) for j in state.running] == [
        (6, "slow-fd1", "fd1-fd", "R", "is running")]
    running = [f for f in judge_state("dir", state, Thresholds())
               if f.check == "backup.status.running"]
    assert running[0].severity is Severity.OK and "JobId 6 R: is running" in running[0].message
    # The earlier failure of that pair is listed as a recent error.
    pair = by_subject(judge_state("dir", state, Thresholds()))["slow-fd1 on fd1-fd"]
    assert "1 failed in the last 24h: JobId 3 A" in pair.message


def test_a_director_that_refuses_is_a_one_line_cause():
    with pytest.raises(TargetError) as caught:
        collect.interpret("dir", sample("bacula/session-director-down.txt"), 30)
    message = str(caught.value)
    assert message == ("dir: bconsole could not talk to the director at localhost:9101 "
                       "(Connection refused), bconsole exit 1")


def test_a_bconsole_that_times_out_says_so():
    text = "BP-NOW 1\nConnecting to Director dir.example:9101\nBP-EXIT 124\n"
    with pytest.raises(TargetError, match=r"no answer from the director at "
                                          r"dir\.example:9101 within 7s"):
        collect.interpret("dir", text, 7)


def test_missing_bconsole_and_unreadable_config_are_named():
    with pytest.raises(TargetError, match="bconsole is not installed"):
        collect.interpret("h", "BP-MISSING bconsole\n", 30)
    with pytest.raises(TargetError, match=r"cannot read bconsole configuration /etc/x\.conf"):
        collect.interpret("h", "BP-NOCONF /etc/x.conf\n", 30)


def test_a_failed_query_and_a_damaged_row_are_parse_errors():
    good = sample("bacula/session-failures.txt")
    with pytest.raises(ParseError, match="no such table"):
        parse_bacula_session(good + 'Query failed: .sql query="x". ERR=Query failed: x: '
                             "ERR=no such table: Job\n")
    with pytest.raises(ParseError, match="has 3 fields"):
        parse_sql_rows("BPROW\t1\tbackup\tT\tBPEOR\t")


def test_rows_survive_line_breaks_between_them():
    # A later Bacula may end rows with newlines instead of tabs: same rows.
    text = sample("bacula/session-failures.txt")
    assert parse_sql_rows(text.replace("BPEOR\t", "BPEOR\n")) == parse_sql_rows(text)


def test_bareos_api2_answers_are_judged_the_same_way():
    state = parse_bareos_api(sample("bareos/api2-session.txt"), now=1715628700 + 3600)
    assert state.system == "bareos"
    assert state.definitions == ["backup-bareos-fd", "backup-web1", "backup-db1"]
    assert state.clients[-1] == "old-nas-fd"
    findings = by_subject(judge_state("bareos-dir", state, Thresholds()))
    assert findings["backup-bareos-fd on bareos-fd"].severity is Severity.OK
    assert findings["backup-web1 on web1-fd"].severity is Severity.CRIT
    assert findings["backup-db1 on db1-fd"].severity is Severity.WARN
    assert "W (terminated with warnings)" in findings["backup-db1 on db1-fd"].message
    assert findings["client old-nas-fd"].data["never_backed_up"] is True


def test_bareos_error_answer_is_a_parse_error():
    text = ('{"jsonrpc": "2.0", "id": null, "error": {"code": 1, "message": "failed", '
            '"data": {"result": {}, "messages": {"error": ["list: unknown keyword"]}}}}')
    with pytest.raises(ParseError, match="bareos director: failed"):
        parse_bareos_api(text)


@pytest.mark.parametrize("code", ["T", "W", "e", "E", "f", "A", "I", "R", "m", "M", "F", "S"])
def test_every_status_the_issue_names_is_decoded(code):
    meaning, kind = JOB_STATUS[code]
    assert meaning and kind in {"ok", "warning", "error", "canceled", "running", "waiting",
                                "media"}


# No false green. These sessions are real: the lab director with a named Console
# whose JobACL and ClientACL name a job and a client that do not exist, before and
# after one job ran (the raw `.sql` catalog query is not filtered by the ACLs).
def test_a_director_that_shows_no_job_and_no_client_is_unknown():
    state = collect.interpret("dir", sample("bacula/session-acl-hides-all.txt"), 30)
    assert (state.definitions, state.clients, state.runs) == ([], [], [])
    (finding,) = judge_state("dir", state, Thresholds())
    assert finding.severity is Severity.UNKNOWN and finding.subject == ""
    assert finding.message == ("the director shows this console no backup job and no client "
                               "(its JobACL and ClientACL may hide them): nothing to judge")


def test_catalog_history_is_judged_but_hidden_definitions_stay_unknown():
    state = collect.interpret("dir", sample("bacula/session-acl-hides-all-after-a-run.txt"), 30)
    findings = judge_state("dir", state, Thresholds())
    assert [(f.severity, f.subject) for f in findings] == [
        (Severity.UNKNOWN, ""), (Severity.OK, "backup-fd1 on fd1-fd")]
    assert findings[0].message.endswith(": only the catalog's history was judged")


def test_a_director_that_hides_only_its_clients_is_unknown():
    # A second named Console: JobACL = *all*, ClientACL = a client that does not exist.
    state = collect.interpret("dir", sample("bacula/session-acl-hides-clients.txt"), 30)
    assert state.definitions and state.clients == []
    findings = judge_state("dir", state, Thresholds())
    assert [f.message for f in findings if f.severity is Severity.UNKNOWN] == [
        "the director shows this console no client (its ClientACL may hide them): clients "
        "that were never backed up cannot be found"]
    assert by_subject(findings)["backup-fd1 on fd1-fd"].severity is Severity.OK


def test_a_director_with_jobs_and_clients_adds_no_scope_finding():
    state = collect.interpret("dir", sample("bacula/session-failures.txt"), 30)
    assert not [f for f in judge_state("dir", state, Thresholds()) if f.check.endswith(".scope")]


def test_the_cause_wins_over_the_lost_connection_it_caused():
    # The two fatal errors of a job that filled the volume, as captured, and in the
    # other order, which a docs run of the lab also saw: SD and FD log concurrently.
    sd, fd = sample("bacula/session-running.txt").splitlines()[15:17]
    assert "Out of freespace" in sd and "Network send error" in fd
    cause = parse_fatal_lines(f"{sd}\n{fd}\n\\\tBPEOR")[4]
    swapped = parse_fatal_lines(fd.replace("\\\tBPEOR\t", "") + "\n\\\tBPEOR\t" + sd
                                + "\n\\\tBPEOR")
    assert cause == swapped[4] and cause.startswith("[SF0209] Out of freespace")
    only_fd = parse_fatal_lines(fd.replace("\\\tBPEOR\t", "") + "\n\\\tBPEOR")
    assert only_fd[4] == "Network send error to SD. ERR=Connection reset by peer"
