"""--format prometheus: text exposition that Prometheus' own parser reads back exactly.

The parser is prometheus_client's (the reference Python implementation of the
format); the textfile is written the way node_exporter's collector needs it.
"""

from __future__ import annotations

import io
import os
import stat

import pytest
from prometheus_client.parser import text_string_to_metric_families

from runbooks.core.errors import UsageError
from runbooks.core.findings import Finding, Report, Severity
from runbooks.core.prometheus import textfile_path, write_textfile
from runbooks.core.render import render
from tests.helpers import run_task

HOSTILE = ['/mnt/with "quotes"', "/mnt/back\\slash", "/mnt/new\nline", "/mnt/$(reboot)",
           "/mnt/sp ace", "/mnt/ünï"]


def _report(*findings: tuple[str, Severity, str, str]) -> Report:
    rep = Report("mounts.audit", "Mount options", "mount", targets=["nas", "far"],
                 metrics={"mounts": 3, "seconds": 0.25})
    for check, sev, target, subject in findings:
        rep.findings.append(Finding(check, sev, target, subject, "msg"))
    return rep


def _samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        assert family.type == "gauge"
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def _prometheus(rep: Report) -> tuple[int, str]:
    out = io.StringIO()
    code = render(rep, "prometheus", out)
    return code, out.getvalue()


def test_every_subject_reads_back_exactly_whatever_its_characters():
    rep = _report(*[("mounts.barrier", Severity.CRIT, "nas", s) for s in HOSTILE])
    code, text = _prometheus(rep)
    assert code == 2
    findings = _samples(text)["breaking_point_finding"]
    assert sorted(labels["subject"] for labels, _ in findings) == sorted(HOSTILE)
    assert {value for _, value in findings} == {2.0}
    assert all(line.startswith(("#", "breaking_point_")) for line in text.splitlines())


def test_severity_is_the_nagios_exit_status_and_ok_findings_stay():
    rep = _report(("mounts.a", Severity.OK, "nas", "/a"), ("mounts.b", Severity.WARN, "nas", "/b"),
                  ("mounts.c", Severity.CRIT, "nas", "/c"),
                  ("mounts.d", Severity.UNKNOWN, "nas", "/d"))
    values = {labels["check"]: value for labels, value in
              _samples(_prometheus(rep)[1])["breaking_point_finding"]}
    assert values == {"mounts.a": 0, "mounts.b": 1, "mounts.c": 2, "mounts.d": 3}


def test_two_findings_with_the_same_labels_keep_the_worse():
    rep = _report(("mounts.a", Severity.WARN, "nas", "/a"),
                  ("mounts.a", Severity.CRIT, "nas", "/a"), ("mounts.a", Severity.OK, "nas", "/a"))
    assert _samples(_prometheus(rep)[1])["breaking_point_finding"] == [
        ({"runbook": "mounts.audit", "check": "mounts.a", "target": "nas", "subject": "/a"}, 2)]


def test_a_target_that_was_not_reached_or_judged_nothing_is_not_a_success():
    rep = _report(("mounts.a", Severity.CRIT, "nas", "/a"), ("mounts.audit.reach",
                                                             Severity.UNKNOWN, "far", ""))
    success = {labels["target"]: value for labels, value in
               _samples(_prometheus(rep)[1])["breaking_point_check_success"]}
    assert success == {"nas": 1, "far": 0}
    blind = Report("mounts.audit", "Mount options", targets=["nas"])
    assert _samples(_prometheus(blind)[1])["breaking_point_check_success"] == [
        ({"runbook": "mounts.audit", "target": "nas"}, 0)]


def test_perfdata_duration_and_last_run_are_exported():
    samples = _samples(_prometheus(_report(("mounts.a", Severity.OK, "nas", "/a")))[1])
    metrics = {labels["name"]: value for labels, value in samples["breaking_point_runbook_metric"]}
    assert metrics == {"mounts": 3, "seconds": 0.25}
    assert samples["breaking_point_check_duration_seconds"][0][1] >= 0
    assert samples["breaking_point_check_last_run_timestamp_seconds"][0][1] > 1.7e9


def test_the_textfile_is_renamed_into_place_readable_and_alone(tmp_path):
    rep = _report(("mounts.a", Severity.WARN, "nas", "/a"))
    old = tmp_path / "breaking_point_mounts.audit.prom"
    old.write_text("stale\n")
    path = write_textfile(rep, str(tmp_path))
    assert path == old and path.read_text().startswith("# HELP breaking_point_finding")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary left


def test_a_missing_textfile_dir_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no such directory"):
        textfile_path(str(tmp_path / "nope"), "mounts.audit")


def test_a_real_check_prints_metrics_prometheus_can_read(tmp_path):
    proc = run_task("mounts.audit", "--format", "prometheus")
    assert proc.returncode in (0, 1, 2), proc.stderr
    samples = _samples(proc.stdout)
    assert samples["breaking_point_finding"], proc.stdout
    assert {labels["runbook"] for labels, _ in samples["breaking_point_finding"]} == {
        "mounts.audit"}


def test_textfile_dir_writes_the_metrics_and_prints_the_chosen_format(tmp_path):
    proc = run_task("mounts.audit", "--format", "nagios", "--textfile-dir", str(tmp_path))
    assert proc.stdout.startswith("MOUNTS "), proc.stdout
    written = tmp_path / "breaking_point_mounts.audit.prom"
    samples = _samples(written.read_text())
    assert samples["breaking_point_check_success"][0][1] == 1
    worst = max(value for _, value in samples["breaking_point_finding"])
    assert proc.returncode == {0: 0, 1: 1, 2: 2, 3: 3}[int(worst)]


def test_a_check_that_fails_replaces_the_textfile_with_a_blind_one(tmp_path):
    (tmp_path / "breaking_point_mounts.audit.prom").write_text(
        'breaking_point_finding{check="old"} 0\n')
    proc = run_task("mounts.audit", "--host", "bad host name", "--textfile-dir", str(tmp_path))
    assert proc.returncode == 3 and proc.stderr.startswith("error: ")
    samples = _samples((tmp_path / "breaking_point_mounts.audit.prom").read_text())
    assert "breaking_point_finding" not in samples  # the last good result is gone
    assert samples["breaking_point_check_success"] == [
        ({"runbook": "mounts.audit", "target": "localhost"}, 0)]


def test_a_missing_textfile_dir_is_one_line_and_unknown(tmp_path):
    proc = run_task("mounts.audit", "--format", "nagios", "--textfile-dir",
                    str(tmp_path / "nope"))
    assert proc.returncode == 3
    assert proc.stderr == f"error: --textfile-dir {tmp_path / 'nope'}: no such directory\n"
