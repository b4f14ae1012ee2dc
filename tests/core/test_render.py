"""Renderers: the same report as table, JSON, Nagios and check_mk, and its exit status."""

import io
import json

import pytest

from runbooks.core.errors import UsageError
from runbooks.core.findings import Finding, Report, Severity
from runbooks.core.render import render


def report(*severities, targets=("nas",)):
    rep = Report("mounts.audit", "Mount options", "mount", targets=list(targets),
                 metrics={"mounts": 3})
    subjects = ["/a", "/b", "/c"]
    for i, sev in enumerate(severities):
        rep.findings.append(
            Finding(f"mounts.rule{i}", sev, targets[i % len(targets)], subjects[i % 3],
                    f"problem {i}" if sev is not Severity.OK else "ok", why=f"why {i}",
                    page="runbooks/x/#y")
        )
    return rep


def rendered(rep, fmt):
    out = io.StringIO()
    code = render(rep, fmt, out)
    return code, out.getvalue()


@pytest.mark.parametrize(
    ("severities", "code"),
    [
        ((Severity.OK, Severity.OK), 0),
        ((Severity.OK, Severity.WARN), 1),
        ((Severity.WARN, Severity.CRIT, Severity.OK), 2),
        ((Severity.UNKNOWN, Severity.WARN), 3),
        ((Severity.CRIT, Severity.UNKNOWN), 2),  # a confirmed problem outranks not knowing
    ],
)
@pytest.mark.parametrize("fmt", ["table", "json", "nagios", "checkmk"])
def test_exit_status_is_worst_severity_in_every_format(severities, code, fmt):
    assert rendered(report(*severities), fmt)[0] == code


def test_nagios_status_line_with_perfdata_then_long_output():
    _, text = rendered(report(Severity.CRIT, Severity.WARN, Severity.OK), "nagios")
    first, *rest = text.splitlines()
    assert first == "MOUNTS CRITICAL - /a: problem 0; /b: problem 1 | mounts=3"
    assert rest == [
        "[CRIT] nas /a: problem 0 (http://127.0.0.1:8000/runbooks/x.html#y)",
        "[WARN] nas /b: problem 1 (http://127.0.0.1:8000/runbooks/x.html#y)",
    ]


def test_nagios_never_lets_a_pipe_into_the_status_text():
    rep = report(Severity.WARN)
    rep.findings[0] = Finding("c", Severity.WARN, "nas", "/odd|name", "bad|thing")
    first = rendered(rep, "nagios")[1].splitlines()[0]
    assert first.count("|") == 1 and first.endswith("| mounts=3")


def test_a_newline_in_a_name_cannot_split_a_monitoring_line():
    # A mount point or file name may hold line breaks; Nagios and check_mk read lines.
    rep = report(Severity.CRIT, Severity.WARN)
    rep.findings[0] = Finding("c", Severity.CRIT, "nas", "/srv/a\nMOUNTS OK - fake",
                              "bad\r\nthing")
    _, nagios = rendered(rep, "nagios")
    assert nagios.splitlines() == [
        "MOUNTS CRITICAL - /srv/a\\nMOUNTS OK - fake: bad\\r\\nthing; /b: problem 1 | mounts=3",
        "[CRIT] nas /srv/a\\nMOUNTS OK - fake: bad\\r\\nthing",
        "[WARN] nas /b: problem 1 (http://127.0.0.1:8000/runbooks/x.html#y)",
    ]
    _, checkmk = rendered(rep, "checkmk")
    assert checkmk.splitlines() == [
        '2 "Mount options /srv/a\\nMOUNTS OK - fake" crit=1|warn=0 CRITICAL - bad\\r\\nthing',
        '1 "Mount options /b" crit=0|warn=1 WARNING - problem 1',
    ]


def test_json_has_every_finding_and_the_status(monkeypatch):
    monkeypatch.setenv("BP_DOCS_URL", "https://kb.example.org/")
    code, text = rendered(report(Severity.CRIT, Severity.OK), "json")
    doc = json.loads(text)
    assert doc["status"] == "CRIT" and doc["exit_code"] == code == 2
    assert [f["severity"] for f in doc["findings"]] == ["CRIT", "OK"]
    assert doc["findings"][0]["url"] == "https://kb.example.org/runbooks/x.html#y"


def test_checkmk_one_service_per_subject_with_worst_state():
    rep = report(Severity.WARN, Severity.OK, Severity.OK)
    rep.findings.append(Finding("c", Severity.CRIT, "nas", "/a", "worse"))
    lines = rendered(rep, "checkmk")[1].splitlines()
    assert lines == [
        '2 "Mount options /a" crit=1|warn=1 CRITICAL - problem 0; worse',
        '0 "Mount options /b" crit=0|warn=0 OK - ok',
        '0 "Mount options /c" crit=0|warn=0 OK - ok',
    ]


def test_checkmk_uses_piggyback_sections_for_several_targets():
    rep = report(Severity.OK, Severity.WARN, targets=("h1", "h2"))
    assert rendered(rep, "checkmk")[1].splitlines() == [
        "<<<<h1>>>>", "<<<local:sep(0)>>>", '0 "Mount options /a" crit=0|warn=0 OK - ok',
        "<<<<>>>>",
        "<<<<h2>>>>", "<<<local:sep(0)>>>",
        '1 "Mount options /b" crit=0|warn=1 WARNING - problem 1', "<<<<>>>>",
    ]


def test_table_lists_problems_explains_each_check_once_and_summarises():
    rep = report(Severity.CRIT, Severity.OK)
    rep.findings.append(Finding("mounts.rule0", Severity.CRIT, "nas", "/c", "again", why="why 0"))
    _, text = rendered(rep, "table")
    assert text.count("why 0") == 1
    assert "problem 0" in text and "again" in text and "ok" not in text.split("\n\n")[0]
    assert text.rstrip().endswith("Mount options: 2 CRIT (3 mounts checked)")


def test_unknown_format_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown format 'xml'"):
        render(report(Severity.OK), "xml", io.StringIO())


@pytest.mark.parametrize("fmt", ["json", "nagios", "checkmk"])
def test_details_are_for_the_table_only_and_come_first(fmt):
    rep = report(Severity.WARN, Severity.OK)
    rep.details = ["nas: a listing [not markup]", "TOOL  STATE", ""]
    _, table = rendered(rep, "table")
    assert table.startswith("nas: a listing [not markup]\nTOOL  STATE\n\n")
    assert table.endswith(rendered(report(Severity.WARN, Severity.OK), "table")[1])
    assert "listing" not in rendered(rep, fmt)[1]  # machine formats stay clean
