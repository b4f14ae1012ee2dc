"""mfs.audit and mfs.repair against a real MooseFS 3.0 cluster with faults injected."""

import json
import time

import pytest

from runbooks.core.render import one_line
from runbooks.lab import faults
from runbooks.mfs import parse
from tests.mfs.lab_checks import HOSTILE as COMMON
from tests.mfs.lab_checks import (
    assert_nagios_names_the_lost,
    assert_ran_nothing,
    assert_repair_refuses_and_changes_nothing,
    invoke,
    stopped,
    wait_for,
    write_tree,
)

# the last name mimics a line of MooseFS 3's mfscheckfile output
HOSTILE = [*COMMON, " chunks with 1 copy:              1"]
HOSTILE_PATHS = [f"/mnt/mfs/t/{name}" for name in HOSTILE]
pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def mfs(lab):
    facts = lab.up("moosefs")
    client = lab.container(facts["client"])
    write_tree(client, HOSTILE)
    yield facts, client, {n: lab.container(f"{facts['master'][:-len('master')]}{n}")
                          for n in ("cs1", "cs2", "cs3", "cs4")}
    lab.remove_all()


def audit(facts, *args):
    return invoke("mfs.audit", "/mnt/mfs/t", "--container", facts["client"], *args)


def test_healthy_tree_with_hostile_names_is_ok_and_runs_nothing(mfs):
    facts, client, _ = mfs
    proc = audit(facts, "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["metrics"]["files"] == len(HOSTILE)
    assert doc["findings"][0]["message"].startswith(f"{len(HOSTILE)} files, ")
    assert_ran_nothing(client)


def cluster(facts):
    proc = audit(facts, "--cluster", "--format", "json")
    doc = json.loads(proc.stdout)
    return proc.returncode, next(f for f in doc["findings"] if f["check"] == "mfs.cluster"), \
        {f["check"] for f in doc["findings"]}


def test_cluster_view_reports_disconnected_servers(mfs):
    """One of four chunkservers killed, on a cluster that never lost a copy: WARN, exit 1.

    The master's counters trail its chunk loop by up to CHUNKS_LOOP_MIN_TIME (300 s), so
    this runs before any test stops several chunkservers: a missing chunk still counted
    from such an outage would make it CRIT. Every file has goal 2 and was written with
    all four servers up, so no chunk can lose its last copy when one server dies."""
    facts, _, servers = mfs
    code, view, _ = cluster(facts)
    assert (code, view["data"]["servers"], view["data"]["disconnected"],
            view["data"]["missing"]) == (0, 4, 0, 0), view
    faults.inject(servers["cs4"], "kill")
    try:
        time.sleep(1)
        code, view, checks = cluster(facts)
        assert code == 1, view
        assert view["severity"] == "WARN" and "mfs.disconnected" in checks
        # the master's list of undergoal files may or may not have caught up; nothing more
        assert checks <= {"mfs.cluster", "mfs.disconnected", "mfs.undergoal"}, checks
        assert (view["data"]["servers"], view["data"]["disconnected"],
                view["data"]["missing"], view["data"]["files_named"]) == (3, 1, 0, 0)
        assert "3 chunkservers connected, 1 disconnected" in view["message"]
        assert "lags" in view["message"]
    finally:
        faults.heal(servers["cs4"])


def disconnected(client):
    """The chunkservers the master lists as disconnected (mfscli -SCS)."""
    code, out = client.exec_run(["mfscli", "-H", "master", "-n", "-p", "-SCS"])
    assert code == 0, out
    return [line for line in out.decode().splitlines() if line.startswith("Disconnected")]


def fileinfo(client, path):
    code, out = client.exec_run(["mfsfileinfo", path])
    assert code == 0, out
    return out.decode()


def test_three_of_four_chunkservers_stopped(mfs):
    facts, client, servers = mfs
    cs1 = next(iter(servers["cs1"].attrs["NetworkSettings"]["Networks"].values()))["IPAddress"]
    code, out = client.exec_run(["mfsfileinfo", *HOSTILE_PATHS])
    assert code == 0, out
    before = parse.parse_fileinfo(out.decode(), HOSTILE_PATHS)
    lost = sorted(p for p, chunks in before.items()
                  if not any(c.server == f"{cs1}:9422" for c in chunks[0].copies))
    assert lost, "with 3 of 4 servers down some goal-2 file must have lost all copies"
    with stopped(servers):
        wait_for("3 servers to disconnect", lambda: len(disconnected(client)) == 3)
        nagios = audit(facts, "--format", "nagios")
        assert_nagios_names_the_lost(nagios, lost)
        doc = json.loads(audit(facts, "--format", "json").stdout)
        missing = {f["subject"]: f for f in doc["findings"] if f["check"] == "mfs.missing"}
        assert sorted(missing) == lost
        for path, finding in missing.items():
            assert path.startswith("/mnt/mfs/t/")
            assert path.split("/mnt/mfs/t/")[1] in HOSTILE
            detail = finding["data"]["chunk_detail"]
            assert detail and all(len(row["chunk_id"]) == 16 for row in detail)
            assert all(row["valid_copies"] == 0 for row in detail)
        # Each goal-2 file kept at most one copy, so all of them are problems: the status
        # line names the first five (0 copies first, then by name) and counts the rest.
        rank = {"CRIT": 0, "WARN": 1}
        problems = sorted((rank[f["severity"]], f["subject"], f["message"])
                          for f in doc["findings"])
        assert [s for _, s, _ in problems] == sorted(missing) + sorted(
            set(HOSTILE_PATHS) - set(missing))
        # (a line break in a name is shown as \n: the status line stays one line)
        status = one_line("; ".join(f"{subject}: {message}"
                                    for _, subject, message in problems[:5]))
        assert nagios.stdout.startswith(
            f"MFS CRITICAL - {status}; and {len(HOSTILE) - 5} more | "), nagios.stdout

        for target in lost:  # hostile names too: each refused, none touched
            assert_repair_refuses_and_changes_nothing(
                facts["client"], target, lambda path: fileinfo(client, path), stopped=3)
        assert_ran_nothing(client)


def test_repair_dry_run_on_a_healthy_file_changes_nothing(mfs):
    facts, _, _ = mfs
    proc = invoke("mfs.repair", "/mnt/mfs/t/with space", "--container", facts["client"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 of 1 file(s) need no repair" in proc.stdout and "nothing to repair" in proc.stdout


def test_path_outside_moosefs_is_one_line_unknown(mfs):
    facts, _, _ = mfs
    proc = invoke("mfs.audit", "/nonexistent", "--container", facts["client"], "--format",
                  "nagios")
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "/nonexistent" in proc.stderr


@pytest.mark.parametrize(("task", "path", "reason"), [
    ("mfs.audit", "/mnt/mfs/empty", "no file under /mnt/mfs/empty: nothing to check"),
    ("mfs.repair", "/mnt/mfs/empty", "no file under /mnt/mfs/empty: nothing to check"),
    ("mfs.audit", "/etc", "/etc is not on a MooseFS/LizardFS mount"),
    ("mfs.repair", "/etc/hostname", "/etc/hostname is not on a MooseFS/LizardFS mount"),
])
def test_a_check_that_finds_nothing_to_look_at_is_unknown(mfs, task, path, reason):
    facts, client, _ = mfs
    client.exec_run(["mkdir", "-p", "/mnt/mfs/empty"])
    proc = invoke(task, path, "--container", facts["client"])
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and reason in proc.stderr, proc.stderr
    assert "OK" not in proc.stdout


def test_an_experiment_runs_end_to_end_and_records_its_journal(lab, tmp_path):
    from runbooks.experiments import run_experiment
    from runbooks.experiments.journal import problems

    path = run_experiment("repair-zero-copy", out_dir=tmp_path)
    doc = json.loads(path.read_text())
    assert problems(doc) == []
    assert doc["status"] == "completed" and doc["versions"]["moosefs"].startswith("3.0.117")
    assert isinstance(doc["deviated"], bool)
    hypothesis = doc["steady_state_hypothesis"]
    probes = ["chunkservers registered with their space", "chunks missing (master)"]
    assert [p["name"] for p in hypothesis["before"]] == ["lab up", *probes]
    assert [p["name"] for p in hypothesis["after"]] == probes
    assert all(p["status"] == "succeeded" for p in hypothesis["before"])
    kinds = {a["kind"] for a in doc["method"]}
    assert kinds == {"action", "probe"} and "filerepair" in [a["name"] for a in doc["method"]]
    assert all(isinstance(a["duration"], float) and a["status"] == "succeeded"
               for a in doc["method"])
    assert [a["name"] for a in doc["rollbacks"]] == ["heal every fault"]
    results = doc["results"]
    assert results["repair_output"][1].split()[-1] == "1"  # chunks erased: 1
    assert results["chunk0_nonzero_bytes_after"] == 0 and results["chunk1_intact"]


def _avail(container):
    out = container.exec_run(["df", "--output=avail", "-B1", "/mfsdata"]).output.decode()
    return int(out.split()[-1])


def test_fill_disk_and_network_faults_heal_cleanly(mfs):
    _, _, servers = mfs
    cs1 = servers["cs1"]
    free_before = _avail(cs1)
    faults.inject(cs1, "fill-disk")
    assert _avail(cs1) < 1024 * 1024 and faults.active(cs1) == ["fill-disk"]
    faults.inject(cs1, "isolate")
    code, _ = cs1.exec_run(["timeout", "3", "bash", "-c", "exec 3<>/dev/tcp/master/9420"])
    assert code != 0, "an isolated node must not reach the master"
    assert faults.heal(cs1) == ["healed isolate", "healed fill-disk"]
    assert abs(_avail(cs1) - free_before) < 64 * 1024 * 1024 and faults.active(cs1) == []
    code, _ = cs1.exec_run(["timeout", "3", "bash", "-c", "exec 3<>/dev/tcp/master/9420"])
    assert code == 0
