"""Generated Prometheus alerting rules: every finding a check can raise has its alert,
each alert's runbook_url opens its page and anchor, and a broken anchor fails the build."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import types

import pytest
import yaml

from runbooks.core.findings import Severity
from runbooks.site import alerts
from tests.helpers import REPO


def _finding_calls() -> set[str]:
    """file:line of every Finding(...) call in runbooks/, found independently of alerts.py."""
    calls = set()
    for path in sorted((REPO / "runbooks").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        for node in ast.walk(ast.parse(path.read_text(), rel)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id == "Finding":
                calls.add(f"{rel}:{node.lineno}")
    return calls


def test_every_finding_call_is_scanned_or_named_elsewhere():
    scanned = {e.source for e in alerts.scan()}
    missed = {c for c in _finding_calls() - scanned
              if c.split(":")[0] not in alerts.NAMED_ELSEWHERE}
    assert missed == set()
    assert len(scanned) >= 30


def test_known_alerts_link_their_finding_anchor(monkeypatch):
    monkeypatch.delenv("BP_DOCS_URL", raising=False)
    by_name = {a.name: a for a in alerts.alerts()}
    crit = by_name["BreakingPointMountsBarriersOffCrit"]
    assert (crit.check, crit.severity, crit.label) == ("mounts.barriers-off", Severity.CRIT,
                                                       "critical")
    assert crit.url.endswith("/runbooks/mount-options.html#barriers-off")
    # A condition shared by the check name and the page keeps them paired.
    assert by_name["BreakingPointMfsMissingCrit"].page == "runbooks/mfs-audit/#missing"
    assert by_name["BreakingPointMfsUndergoalWarn"].page == "runbooks/mfs-audit/#undergoal"
    # A page passed through **common, not the module's PAGE.
    assert by_name["BreakingPointRearChecklayoutCrit"].page == "runbooks/rear-check/"
    # "Looked at nothing" names no page: its module's runbook.
    assert by_name["BreakingPointMountsAuditNothingUnknown"].page == "runbooks/mount-options/"
    # OK never alerts, and a rule's severity is its own: no WARN for barriers off.
    assert "BreakingPointMountsBarriersOffWarn" not in by_name
    assert not any(name.endswith("Ok") for name in by_name)


def test_rules_file_is_valid_yaml_with_every_annotation(monkeypatch):
    monkeypatch.setenv("BP_DOCS_URL", "https://kb.example.org/bp/")
    doc = yaml.safe_load(alerts.render_rules(for_="1m"))
    rules = doc["groups"][0]["rules"]
    assert len(rules) == len(alerts.alerts()) + 1  # and the blind-check alert
    for rule in rules:
        assert rule["for"] == "1m"
        assert rule["labels"]["severity"] in ("warning", "critical", "unknown")
        assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}
        assert rule["annotations"]["runbook_url"].startswith("https://kb.example.org/bp/")
    barrier = next(r for r in rules if r["alert"] == "BreakingPointMountsBarriersOffCrit")
    assert barrier["expr"] == 'breaking_point_finding{check="mounts.barriers-off"} == 2'


def test_a_check_name_made_at_run_time_is_refused():
    module = types.SimpleNamespace(PAGE="runbooks/x/")
    tree = ast.parse("def f(name):\n    return Finding(f'{name}.y', Severity.WARN, 't', 's', 'm')")
    [(function, call)] = list(alerts._functions(tree))
    with pytest.raises(ValueError, match="made at run time"):
        list(alerts._emits(call, alerts._Scope(module, function), "x.py:2"))


def test_missing_anchors_names_page_and_anchor(tmp_path):
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks/mount-options.html").write_text('<h3 id="barriers-off">x</h3>')
    rules = alerts.render_rules()
    problems = alerts.missing_anchors(rules, tmp_path)
    assert not any("mount-options.html#barriers-off" in p or "#barriers-off" in p
                   for p in problems)
    assert any("no page runbooks/mfs-audit.html" in p for p in problems)
    (tmp_path / "runbooks/mount-options.html").write_text('<h3 id="other">x</h3>')
    assert any(p.endswith("no anchor #barriers-off on runbooks/mount-options.html")
               for p in alerts.missing_anchors(rules, tmp_path))


def test_built_site_publishes_the_rules_and_the_table(built_site):
    rules = (built_site / alerts.RULES_FILE).read_text()
    assert alerts.missing_anchors(rules, built_site) == []
    page = (built_site / "monitoring/prometheus.html").read_text()
    assert "BreakingPointMountsBarriersOffCrit" in page
    assert 'href="../runbooks/mount-options.html#barriers-off"' in page


def test_a_broken_runbook_anchor_fails_the_build(tmp_path):
    """A copy of the site whose mount-options page lost the #barriers-off anchor."""
    shutil.copytree(REPO / "docs", tmp_path / "docs")
    shutil.copy(REPO / "mkdocs.yml", tmp_path / "mkdocs.yml")
    (tmp_path / "runbooks").symlink_to(REPO / "runbooks")
    page = tmp_path / "docs/runbooks/mount-options.md"
    page.write_text(page.read_text().replace("{#barriers-off}", "{#barriers-gone}"))
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "-d", str(tmp_path / "site")],
                          cwd=tmp_path, capture_output=True, text=True, check=False,
                          env=dict(os.environ, NO_MKDOCS_2_WARNING="1"), timeout=600)
    assert proc.returncode != 0
    assert "runbook_url without its page or anchor" in proc.stderr
    assert "no anchor #barriers-off on runbooks/mount-options.html" in proc.stderr
