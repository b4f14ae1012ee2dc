"""mfs.audit and mfs.repair against a real MooseFS 3.0 cluster with faults injected."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runbooks.lab import faults

REPO = Path(__file__).resolve().parents[1]
HOSTILE = ["with space", "new\nline", "quote'\"", "$(touch pwned)", "semi;colon `id`",
           "  leading", "-dash"]
pytestmark = pytest.mark.lab


def invoke(*args):
    return subprocess.run([sys.executable, "-m", "invoke", *args], cwd=REPO,
                          capture_output=True, text=True, check=False, timeout=300)


@pytest.fixture(scope="module")
def mfs(lab):
    facts = lab.up("moosefs")
    client = lab.container(facts["client"])
    script = (
        "import os\n"
        "os.makedirs('/mnt/mfs/t', exist_ok=True)\n"
        f"for name in {HOSTILE!r}:\n"
        "    open('/mnt/mfs/t/' + name, 'wb').write(os.urandom(100000))\n"
    )
    code, out = client.exec_run(["python3", "-c", script])
    assert code == 0, out
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
    code, _ = client.exec_run(["sh", "-c", "ls /src/pwned /mnt/mfs/t/pwned /pwned"])
    assert code != 0


def test_three_of_four_chunkservers_stopped(mfs):
    facts, client, servers = mfs
    for name in ("cs2", "cs3", "cs4"):
        faults.inject(servers[name], "stop")
    try:
        time.sleep(1)
        nagios = audit(facts, "--format", "nagios")
        assert nagios.returncode == 2, nagios.stdout + nagios.stderr
        assert nagios.stdout.startswith("MFS CRITICAL - ")
        doc = json.loads(audit(facts, "--format", "json").stdout)
        missing = {f["subject"]: f for f in doc["findings"] if f["check"] == "mfs.missing"}
        assert missing, "with 3 of 4 servers down some goal-2 file must have lost all copies"
        for path, finding in missing.items():
            assert path.startswith("/mnt/mfs/t/")
            assert path.split("/mnt/mfs/t/")[1] in HOSTILE
            detail = finding["data"]["chunk_detail"]
            assert detail and all(len(row["chunk_id"]) == 16 for row in detail)
            assert all(row["valid_copies"] == 0 for row in detail)
        # every 0-copy file is named on the nagios status line or counted in "and N more"
        first = nagios.stdout.splitlines()[0]
        shown = [p for p in missing if p in first]
        assert shown or "more" in first

        target = next(iter(missing))
        before = client.exec_run(["mfsfileinfo", target]).output
        repair = invoke("mfs.repair", target, "--container", facts["client"], "--apply",
                        "--allow-erase")
        assert repair.returncode == 2, repair.stdout + repair.stderr
        assert "REFUSED:" in repair.stdout and "disconnected" in repair.stdout
        assert client.exec_run(["mfsfileinfo", target]).output == before
    finally:
        for name in ("cs2", "cs3", "cs4"):
            faults.heal(servers[name])


def test_cluster_view_reports_disconnected_servers(mfs):
    facts, _, servers = mfs
    faults.inject(servers["cs4"], "kill")
    try:
        time.sleep(1)
        proc = audit(facts, "--cluster", "--format", "json")
        doc = json.loads(proc.stdout)
        checks = {f["check"] for f in doc["findings"]}
        assert "mfs.disconnected" in checks and proc.returncode in (1, 2)
        cluster = next(f for f in doc["findings"] if f["check"] == "mfs.cluster")
        assert cluster["data"]["disconnected"] == 1 and "lags" in cluster["message"]
    finally:
        faults.heal(servers["cs4"])


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
    from runbooks.lab.experiments import run_experiment

    path = run_experiment("repair-zero-copy", out_dir=tmp_path)
    doc = json.loads(path.read_text())
    assert doc["status"] == "completed" and doc["versions"]["moosefs"].startswith("3.0.117")
    phases = {entry["phase"] for entry in doc["journal"]}
    assert phases == {"steady-state", "method", "rollback"}
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
