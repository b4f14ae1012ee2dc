"""net.first-packet against a real cluster (MooseFS 3, MooseFS 4, LizardFS) with one chunkserver
behind a path that drops first packets."""

import json

import pytest

from runbooks.lab import faults
from tests.helpers import run_task

pytestmark = pytest.mark.lab
TASK_TIMEOUT = 600  # a loaded 2-core machine: docker exec alone took seconds here


@pytest.fixture(scope="module", params=["moosefs", "moosefs4", "lizardfs"])
def cluster(request, lab):
    facts = lab.up(request.param)
    yield facts, lab
    lab.remove_prefix(facts["prefix"])


def address(lab, facts, container):
    networks = lab.container(container).attrs["NetworkSettings"]["Networks"]
    return networks[facts["network"]]["IPAddress"]


def check(facts, *extra):
    return run_task("net.first-packet", "--container", facts["client"], "--mfs-master",
                    "master", *extra, timeout=TASK_TIMEOUT)


def test_the_node_that_drops_first_packets_is_flagged_and_nothing_else(cluster):
    facts, lab = cluster
    faulted = facts["chunkservers"][2]
    node = lab.container(faulted)
    faults.inject(node, "first-packet-drop")
    try:
        proc = check(facts, "--format", "json")
    finally:
        faults.heal(node)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    flagged = [(f["severity"], f["check"], f["subject"]) for f in doc["findings"]
               if f["severity"] != "OK"]
    assert flagged == [("CRIT", "net.first-packet.slow-peer",
                        f"{address(lab, facts, faulted)}:9422")]
    slow = next(f for f in doc["findings"] if f["severity"] == "CRIT")
    # The signature: every connect waited for the SYN resent after 1 s (generous margin).
    assert all(0.8 <= s < 3.5 for s in slow["data"]["seconds"]), slow["data"]
    assert doc["metrics"]["peers"] == 7  # the master's three ports and four chunkservers
    assert doc["metrics"]["syn_retrans"] >= 3


def test_healed_cluster_is_ok(cluster):
    facts, _ = cluster
    proc = check(facts, "--format", "nagios")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("NET OK - First packet: 7 peers checked, no slow connect")


def test_a_hostile_peer_is_refused_with_one_line_before_anything_runs(tmp_path):
    marker = tmp_path / "pwned"
    proc = run_task("net.first-packet", "--peer", f"$(touch {marker}):9422", "--peer",
                    "cs1:9422", timeout=TASK_TIMEOUT)
    assert proc.returncode == 3
    assert proc.stderr.splitlines() == [
        f"error: invalid host in '$(touch {marker}):9422': use a host name (letters, digits, "
        "'.', '-', '_'), an IPv4 address or [IPv6]:PORT"]
    assert proc.stdout == ""
    assert not marker.exists()
