"""mfs.audit and mfs.repair against a real MooseFS 4 (4.59.2) cluster with faults injected.

Storage classes 2CP (the root's) and a one-copy class pinned to cs1; EC classes need more
chunkservers than the lab has (tests/data/moosefs4/FORMATS.md).
"""

import json

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
    settled_placement,
    stopped,
    wait_for,
    write_tree,
)

# the last name mimics a line of MooseFS 4's mfscheckfile output
HOSTILE = [*COMMON, "1 full copy (redundancy level: 0):          1"]
HOSTILE_PATHS = [f"/mnt/mfs/t/{name}" for name in HOSTILE]
ONE = "/mnt/mfs/one/x"  # class ONA: one copy, on cs1 (label A)
pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def mfs(lab):
    facts = lab.up("moosefs4")
    client = lab.container(facts["client"])
    write_tree(client, HOSTILE)
    script = (
        "import os, subprocess\n"
        "subprocess.run(['mfsscadmin', 'create', '-K', 'A', 'ONA'], cwd='/mnt/mfs', "
        "check=True)\n"
        "os.makedirs('/mnt/mfs/one', exist_ok=True)\n"
        "subprocess.run(['mfssetsclass', 'ONA', '/mnt/mfs/one'], check=True)\n"
        f"open({ONE!r}, 'wb').write(os.urandom(100000))\n"
    )
    code, out = client.exec_run(["python3", "-c", script])
    assert code == 0, out
    yield facts, client, {n: lab.container(f"{facts['master'][:-len('master')]}{n}")
                          for n in ("cs1", "cs2", "cs3", "cs4")}
    lab.remove_all()


def audit(facts, *args, path="/mnt/mfs/t"):
    return invoke("mfs.audit", path, "--container", facts["client"], *args)


def fileinfo(client, path):
    code, out = client.exec_run(["mfsfileinfo", path])
    assert code == 0, out
    return out.decode()


def disconnected(client):
    code, out = client.exec_run(["mfscli", "-H", "master", "-j", "-SIC", "-SMF", "-SCS"])
    assert code == 0, out
    return parse.parse_mfscli_json(out.decode())


def test_healthy_tree_with_hostile_names_is_ok_and_runs_nothing(mfs):
    facts, client, _ = mfs
    proc = audit(facts, "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["metrics"]["files"] == len(HOSTILE) and doc["metrics"]["missing"] == 0
    (ok,) = doc["findings"]
    assert ok["message"] == f"{len(HOSTILE)} files, {len(HOSTILE)} chunks: every chunk at its goal"
    assert_ran_nothing(client)
    # one file, named like a checkfile line, audited on its own
    proc = audit(facts, "--format", "json", path=HOSTILE_PATHS[-1])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["findings"][0]["message"] == (
        "1 file, 1 chunk: every chunk at its goal")


def cluster(facts):
    proc = audit(facts, "--cluster", "--format", "json")
    doc = json.loads(proc.stdout)
    return proc.returncode, next(f for f in doc["findings"] if f["check"] == "mfs.cluster"), \
        [f for f in doc["findings"] if f["check"] != "mfs.cluster"]


def test_cluster_view_reports_disconnected_servers(mfs):
    """One of four chunkservers killed; 2CP files written with all four up keep a copy."""
    facts, client, servers = mfs
    code, view, _ = cluster(facts)
    assert (code, view["data"]["servers"], view["data"]["disconnected"],
            view["data"]["missing"]) == (0, 4, 0, 0), view
    faults.inject(servers["cs4"], "kill")
    try:
        wait_for("cs4 to disconnect", lambda: len(disconnected(client).disconnected) == 1)
        code, view, others = cluster(facts)
        assert code == 1, view
        assert view["severity"] == "WARN"
        assert (view["data"]["servers"], view["data"]["disconnected"],
                view["data"]["missing"], view["data"]["files_named"]) == (3, 1, 0, 0)
        assert [f["check"] for f in others] == ["mfs.disconnected"]
        assert others[0]["subject"].startswith("chunkserver ")
        assert "3 chunkservers connected, 1 disconnected" in view["message"]
        assert all("/" in key for key in view["data"]["redundancy_levels"])
    finally:
        faults.heal(servers["cs4"])
    wait_for("cs4 to come back", lambda: not disconnected(client).disconnected)


def cs1_address(client, servers):
    ip = next(iter(servers["cs1"].attrs["NetworkSettings"]["Networks"].values()))["IPAddress"]
    return f"{ip}:9422"


def placement(client):
    code, (out, err) = client.exec_run(["mfsfileinfo", *HOSTILE_PATHS], demux=True)
    assert code == 0, (out, err)
    return parse.parse_fileinfo4((out or b"").decode(), HOSTILE_PATHS, (err or b"").decode())


def test_three_of_four_chunkservers_stopped(mfs):
    facts, client, servers = mfs
    # 2CP: two copies of each chunk. After cs4 came back (the test before), chunks
    # replicated while it was away have a third copy until the master's chunk loop
    # (CHUNKS_LOOP_MIN_TIME, 300 s by default) deletes one: a copy on cs1 deleted
    # after this read would lose a file this test did not expect to lose.
    before = settled_placement(lambda: placement(client), copies=2, seconds=420)
    cs1 = cs1_address(client, servers)
    lost = sorted(p for p, chunks in before.items()
                  if not any(c.server == cs1 for c in chunks[0].copies))
    assert lost, "with 3 of 4 servers down some 2CP file must have lost all copies"
    with stopped(servers):
        wait_for("3 servers to disconnect", lambda: len(disconnected(client).disconnected) == 3)
        nagios = audit(facts, "--format", "nagios")
        assert_nagios_names_the_lost(nagios, lost)
        doc = json.loads(audit(facts, "--format", "json").stdout)
        missing = {f["subject"]: f for f in doc["findings"] if f["check"] == "mfs.missing"}
        assert sorted(missing) == lost
        for finding in missing.values():
            assert finding["severity"] == "CRIT" and finding["message"] == (
                "1 chunk with 0 copies (storage class 2CP: redundancy level 1, file has 1 chunk)")
            (row,) = finding["data"]["chunk_detail"]
            assert len(row["chunk_id"]) == 16 and row["valid_copies"] == 0 and \
                row["copies"] == [] and row["redundancy_level"] is None
        # every other file kept its copy on cs1: redundancy level 0 of 1, WARN
        rank = {"CRIT": 0, "WARN": 1}
        problems = sorted((rank[f["severity"]], f["subject"], f["message"])
                          for f in doc["findings"])
        assert [s for _, s, _ in problems] == lost + sorted(set(HOSTILE_PATHS) - set(lost))
        assert all(m == "1 chunk at redundancy level 0 (storage class 2CP: redundancy level 1, "
                   "file has 1 chunk)" for r, _, m in problems if r == 1)
        # (a line break in a name is shown as \n: the status line stays one line)
        status = one_line("; ".join(f"{subject}: {message}"
                                    for _, subject, message in problems[:5]))
        assert nagios.stdout.startswith(
            f"MFS CRITICAL - {status}; and {len(HOSTILE) - 5} more | "), nagios.stdout

        wait_for("the master to count the lost chunks",
                 lambda: disconnected(client).classes["missing"] == len(lost))
        code, view, others = cluster(facts)
        assert (code, view["severity"], view["data"]["servers"], view["data"]["disconnected"],
                view["data"]["missing"]) == (2, "CRIT", 1, 3, len(lost)), view
        assert sorted(f["subject"] for f in others if f["check"] == "mfs.disconnected") == \
            sorted(f"chunkserver {s}" for s in disconnected(client).disconnected)

        for target in lost:  # hostile names too: each refused, none touched
            outputs = assert_repair_refuses_and_changes_nothing(
                facts["client"], target, lambda path: fileinfo(client, path), stopped=3)
            # the dry run also says it would not read-as-zeros without --allow-erase
            assert [sum(line.startswith("REFUSED:") for line in out.splitlines())
                    for out in outputs] == [2, 2, 1], outputs
            assert all("READ-AS-ZEROS - no copy at all" in out for out in outputs)
        assert_ran_nothing(client)
    wait_for("the servers to come back", lambda: not disconnected(client).disconnected)


def test_repair_refuses_to_erase_with_every_server_connected(mfs):
    """cs1 loses its chunks (a replaced disk): ONE's only copy is gone, nothing is away."""
    facts, client, servers = mfs
    faults.inject(servers["cs1"], "lose-chunks")
    try:
        wait_for("the copy to be gone", lambda: "no copies and EC parts" in client.exec_run(
            ["mfscheckfile", ONE]).output.decode())
        wait_for("cs1 to reconnect", lambda: not disconnected(client).disconnected)
        info = fileinfo(client, ONE)
        assert parse.NOTE_UNRECOVERABLE in info
        repair = invoke("mfs.repair", ONE, "--container", facts["client"], "--apply")
        assert repair.returncode == 2, repair.stdout + repair.stderr
        assert [line for line in repair.stdout.splitlines() if line.startswith("REFUSED:")] == [
            "REFUSED: 1 chunk(s) in 1 file(s) have no valid copy and no older version to "
            "promote: repair would replace them with zeros. If every chunkserver is back and "
            "the data is truly gone, rerun with --allow-erase (the readable chunks are copied "
            "aside first)."]
        assert fileinfo(client, ONE) == info
        dry = invoke("mfs.repair", ONE, "--container", facts["client"], "--allow-erase")
        assert dry.returncode == 0, dry.stdout + dry.stderr
        assert "dry run: nothing changed; add --apply to run mfsfilerepair without -d" in dry.stdout
        assert fileinfo(client, ONE) == info
        proc = audit(facts, "--format", "nagios", path="/mnt/mfs/one")
        assert proc.returncode == 2
        assert proc.stdout.startswith(f"MFS CRITICAL - {ONE}: 1 chunk with 0 copies (storage "
                                      "class ONA, file has 1 chunk) | ")
    finally:
        faults.heal(servers["cs1"])


def test_path_outside_moosefs_is_one_line_unknown(mfs):
    facts, _, _ = mfs
    proc = invoke("mfs.audit", "/etc", "--container", facts["client"], "--format", "nagios")
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "/etc is not on a MooseFS/LizardFS mount" in proc.stderr
