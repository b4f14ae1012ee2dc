"""The generated rules pass Debian's `promtool check rules`, and its `promtool test rules`
unit tests: a finding at CRIT for 5 minutes fires the CRIT alert with its runbook_url.

promtool runs in the monitoring lab image (Debian's prometheus package), never on the host.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from runbooks.core.findings import docs_url
from runbooks.site import alerts

pytestmark = pytest.mark.lab
BARRIER = ('breaking_point_finding{runbook="mounts.audit",check="mounts.barriers-off",'
           'target="nas1",subject="/srv/nas"}')
BARRIER_LABELS = {"runbook": "mounts.audit", "check": "mounts.barriers-off", "target": "nas1",
                  "subject": "/srv/nas"}


def promtool(folder: Path, *args: str) -> tuple[int, str]:
    """Run promtool in the monitoring image with ``folder`` at /rules; exit status, output."""
    from runbooks.lab import engine

    cl = engine.client()
    image = engine.build_image("monitoring", cl)
    container = engine.run_container(cl, image, f"bp-promtool-{id(folder)}", "monitoring",
                                     command=["promtool", *args], network_mode="none",
                                     working_dir="/rules",
                                     volumes={str(folder): {"bind": "/rules", "mode": "ro"}})
    try:
        code = container.wait(timeout=120)["StatusCode"]
        return code, container.logs().decode("utf-8", "replace")
    finally:
        container.remove(force=True)


def _unit_tests() -> dict:
    crit = {"exp_labels": {**BARRIER_LABELS, "severity": "critical"},
            "exp_annotations": {
                "summary": "mounts.barriers-off CRITICAL on nas1: /srv/nas",
                "description": next(a.why for a in alerts.alerts()
                                    if a.name == "BreakingPointMountsBarriersOffCrit"),
                "runbook_url": docs_url("runbooks/mount-options/#barriers-off")}}
    return {"rule_files": ["breaking-point.rules.yml"], "evaluation_interval": "1m", "tests": [
        {"interval": "1m",
         "input_series": [{"series": BARRIER, "values": "2x10"}],
         "alert_rule_test": [
             {"eval_time": "4m", "alertname": "BreakingPointMountsBarriersOffCrit",
              "exp_alerts": []},  # pending: not yet 5 minutes
             {"eval_time": "6m", "alertname": "BreakingPointMountsBarriersOffCrit",
              "exp_alerts": [crit]}]},
        {"interval": "1m",  # healed: back to 0 (OK), the alert resolves
         "input_series": [{"series": BARRIER, "values": "2x6 0x5"}],
         "alert_rule_test": [
             {"eval_time": "6m", "alertname": "BreakingPointMountsBarriersOffCrit",
              "exp_alerts": [crit]},
             {"eval_time": "9m", "alertname": "BreakingPointMountsBarriersOffCrit",
              "exp_alerts": []}]},
        {"interval": "1m",  # a check that could not look
         "input_series": [{"series": 'breaking_point_check_success{runbook="mfs.audit",'
                                     'target="master"}', "values": "0x10"}],
         "alert_rule_test": [
             {"eval_time": "6m", "alertname": "BreakingPointCheckBlind",
              "exp_alerts": [{"exp_labels": {"runbook": "mfs.audit", "target": "master",
                                             "severity": "unknown"},
                              "exp_annotations": {
                                  "summary": "mfs.audit could not look at master",
                                  "description": "The check ran but could not reach or read "
                                                 "its target: nothing it says about it is "
                                                 "current.",
                                  "runbook_url": docs_url(alerts.BLIND_PAGE)}}]}]},
    ]}


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    tmp_path.chmod(0o755)
    (tmp_path / "breaking-point.rules.yml").write_text(alerts.render_rules())
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(_unit_tests(), sort_keys=False))
    return tmp_path


def test_promtool_check_rules(rules_dir):
    code, output = promtool(rules_dir, "check", "rules", "breaking-point.rules.yml")
    assert code == 0, output
    assert f"SUCCESS: {len(alerts.alerts()) + 1} rules found" in output


def test_promtool_test_rules(rules_dir):
    code, output = promtool(rules_dir, "test", "rules", "tests.yml")
    assert code == 0, output
    assert "SUCCESS" in output


def test_promtool_test_rules_fails_on_a_wrong_runbook_url(rules_dir):
    broken = (rules_dir / "tests.yml").read_text().replace("#barriers-off", "#nobarrier")
    (rules_dir / "tests.yml").write_text(broken)
    code, output = promtool(rules_dir, "test", "rules", "tests.yml")
    assert code != 0 and "FAILED" in output
