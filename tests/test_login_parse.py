"""Login-cost parsers, fed with output captured on a fleet lab host."""

from pathlib import Path

import pytest

from runbooks.core.errors import ParseError
from runbooks.core.findings import Severity
from runbooks.login import judge_login
from runbooks.login.parse import parse_manifest, parse_motd_timings, parse_pam_motd

DATA = Path(__file__).parent / "data" / "login"


def test_motd_timings_captured_on_a_lab_host():
    scripts = parse_motd_timings((DATA / "motd-timings.txt").read_text())
    names = [s.name for s in scripts]
    assert names == ["00-header", "10-help-text", "50-landscape-sysinfo",
                     "90-updates-available", "91-release-upgrade", "98-reboot-required"]
    slow = {s.name: s.real for s in scripts}
    assert slow["90-updates-available"] >= 0.4 and slow["91-release-upgrade"] >= 0.2
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
