"""Login-cost parsers, fed with output captured on a fleet lab host, and what the login
tasks do when there is nothing to look at."""

import asyncio

import pytest

from runbooks.core.errors import ParseError
from runbooks.core.findings import Severity
from runbooks.core.targets import LocalTarget
from runbooks.login.collect import PamUnreadable, pam_motd_lines
from runbooks.login.judge import judge_login
from runbooks.login.parse import parse_manifest, parse_motd_timings, parse_pam_motd
from runbooks.login.plan import nothing_slow, plan_trim
from tests.helpers import DATA as ALL_DATA
from tests.helpers import run_task

DATA = ALL_DATA / "login"


def test_motd_timings_captured_on_a_lab_host():
    scripts = parse_motd_timings((DATA / "motd-timings.txt").read_text())
    names = [s.name for s in scripts]
    assert names == ["00-header", "10-help-text", "50-landscape-sysinfo",
                     "90-updates-available", "91-release-upgrade", "98-reboot-required"]
    # real, user and system seconds exactly as the capture holds them
    timings = {s.name: (s.real, s.user, s.system) for s in scripts}
    assert timings == {
        "00-header": pytest.approx((0.004, 0.002, 0.001)),
        "10-help-text": pytest.approx((0.001, 0.001, 0.0)),
        "50-landscape-sysinfo": pytest.approx((0.061, 0.059, 0.003)),
        "90-updates-available": pytest.approx((0.433, 0.026, 0.007)),
        "91-release-upgrade": pytest.approx((0.203, 0.003, 0.0)),
        "98-reboot-required": pytest.approx((0.001, 0.0, 0.001)),
    }
    assert all(s.executable and s.mode == "755" for s in scripts)


def test_pam_motd_lines_of_debian_sshd():
    lines = parse_pam_motd((DATA / "pam-sshd-grep.txt").read_text())
    assert [(p.line, p.runs_scripts) for p in lines] == [(33, True), (34, False)]


def test_judge_warns_only_when_pam_motd_runs_slow_scripts():
    scripts = parse_motd_timings((DATA / "motd-timings.txt").read_text())
    pam = parse_pam_motd((DATA / "pam-sshd-grep.txt").read_text())
    finding = judge_login("h", scripts, pam, [0.8, 0.9, 0.85], 0.1)
    assert finding.severity is Severity.WARN
    assert "slow: 90-updates-available" in finding.message
    assert "login 0.85s" in finding.message
    no_pam = judge_login("h", scripts, [p for p in pam if not p.runs_scripts], [], 0.1)
    assert no_pam.severity is Severity.OK


def test_non_executable_scripts_are_not_run():
    (script,) = parse_motd_timings("644\t0\t- - -\tlandscape\n")
    assert not script.executable and script.real is None and script.cpu == 0


@pytest.mark.parametrize("line", ["garbage", "755\t1\t0.1 0.0\tx", "7x5\t1\t0.1 0 0\tx",
                                  "755\t1\tslow 0 0\tx"])
def test_unexpected_timing_lines_name_the_line(line):
    with pytest.raises(ParseError, match="motd timing line 1"):
        parse_motd_timings(line + "\n")


def test_manifest_round_trip_and_errors():
    assert parse_manifest("755\t00-header\n644\tname with\ttab\n") == {
        "00-header": "755", "name with\ttab": "644"}
    with pytest.raises(ParseError, match="line 1"):
        parse_manifest("rwx 00-header\n")


# What each login task does when it finds nothing to look at, decided case by case.


def test_an_empty_update_motd_d_under_an_active_pam_motd_is_ok():
    """Nothing in update-motd.d is something seen, not nothing looked at: no script runs
    at login, so a login pays for none."""
    pam = parse_pam_motd((DATA / "pam-sshd-grep.txt").read_text())
    finding = judge_login("h", [], pam, [0.1], 0.1)
    assert finding.severity is Severity.OK
    assert "runs 0 update-motd.d scripts: 0.00s wall" in finding.message


def test_an_unreadable_pam_file_is_unknown_not_ok(tmp_path):
    missing = tmp_path / "sshd"
    with pytest.raises(PamUnreadable, match=r"cannot read .*sshd \(No such file or directory\)"):
        asyncio.run(pam_motd_lines(LocalTarget(), str(missing)))
    missing.write_text("session required pam_unix.so\n")
    assert asyncio.run(pam_motd_lines(LocalTarget(), str(missing))) == []
    missing.write_text("# comment\nsession optional pam_motd.so motd=/run/motd.dynamic\n")
    (line,) = asyncio.run(pam_motd_lines(LocalTarget(), str(missing)))
    assert line.line == 2 and line.runs_scripts


@pytest.mark.parametrize(("timings", "reason"), [
    ("", "no scripts in /etc/update-motd.d: nothing runs at login"),
    ("644\t0\t- - -\ta\n644\t0\t- - -\tb\n",
     "none of the 2 files in /etc/update-motd.d is executable: nothing runs at login"),
    ("755\t1\t0.01 0.00 0.00\ta\n755\t1\t0.05 0.01 0.00\tb\n644\t0\t- - -\tc\n",
     "none of the 2 executable scripts in /etc/update-motd.d took longer than 0.1s "
     "(the slowest 0.05s)"),
])
def test_trim_with_nothing_slow_plans_nothing_and_says_why(timings, reason):
    scripts = parse_motd_timings(timings)
    plan = asyncio.run(plan_trim(LocalTarget(), scripts, 0.1))  # runs nothing on this host
    assert plan.steps == [] and plan.manual == []
    assert nothing_slow(scripts, 0.1) == reason


def test_zero_login_samples_is_a_usage_error():
    """Timing no login would leave the login time out of the verdict without saying so."""
    proc = run_task("login.cost", "--samples", "0")
    assert proc.returncode == 3
    assert proc.stderr == "error: --samples must be at least 1, not 0\n"
