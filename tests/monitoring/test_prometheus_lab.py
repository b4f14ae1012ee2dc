"""The whole loop in the monitoring lab: NAS fault -> our check -> node_exporter ->
Prometheus evaluating the generated rules -> alert firing with a runbook_url that opens
its page and anchor on the built site; healed -> the alert resolves."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runbooks.core.findings import docs_base_url
from runbooks.lab import engine
from runbooks.lab.systems import faults_of
from runbooks.site.links import _parse

pytestmark = pytest.mark.lab
ALERT = "BreakingPointMountsBarriersOffCrit"
WAIT = 120  # seconds: check loop, scrape, evaluation and the lab's `for`, with room to spare


@pytest.fixture(scope="module")
def monitoring(lab):
    facts = lab.up("monitoring")
    yield facts, lab.container(facts["container"])
    lab.remove_prefix(facts["prefix"])


def _api(nas: Any, facts: dict[str, Any], path: str) -> Any:
    """GET Prometheus' HTTP API from the NAS container, over the lab network."""
    code, out = nas.exec_run(["curl", "-fsS", f"{facts['prometheus_url']}{path}"])
    assert code == 0, out.decode()
    return json.loads(out)["data"]


def _alerts(nas: Any, facts: dict[str, Any], state: str) -> list[dict[str, Any]]:
    return [a for a in _api(nas, facts, "/api/v1/alerts")["alerts"]
            if a["labels"]["alertname"] == ALERT and a["state"] == state]


def _finding(nas: Any, facts: dict[str, Any]) -> list[str]:
    result = _api(nas, facts, "/api/v1/query?query=breaking_point_finding")["result"]
    return sorted(f"{r['metric']['check']} {r['value'][1]}" for r in result)


def test_barrier_fault_fires_alert_with_working_runbook_url_and_heal_resolves(
        monitoring, built_site):
    facts, nas = monitoring
    engine.wait_until(lambda: _finding(nas, facts) == ["mounts.audit 0"], WAIT,
                      "the clean mount scraped as OK")
    assert _alerts(nas, facts, "firing") == []
    fault = faults_of(nas)["barrier-off"]
    fault.inject(nas)
    try:
        engine.wait_until(lambda: _alerts(nas, facts, "firing"), WAIT, f"{ALERT} firing")
        [alert] = _alerts(nas, facts, "firing")
        assert alert["labels"]["severity"] == "critical"
        assert alert["labels"]["subject"] == "/srv/nas"
        url = alert["annotations"]["runbook_url"]
        assert url.startswith(docs_base_url())
        file, _, anchor = url.removeprefix(docs_base_url()).partition("#")
        assert (file, anchor) == ("runbooks/mount-options.html", "barriers-off")
        assert anchor in _parse(built_site / file).ids
    finally:
        fault.heal(nas)  # type: ignore[misc]
    engine.wait_until(lambda: _finding(nas, facts) == ["mounts.audit 0"], WAIT,
                      "the healed mount scraped as OK")
    engine.wait_until(lambda: not _alerts(nas, facts, "firing")
                      and not _alerts(nas, facts, "pending"), WAIT, f"{ALERT} resolved")
