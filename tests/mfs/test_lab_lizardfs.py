"""mfs.audit and mfs.repair against a real LizardFS 3.13 cluster, the story's own system.

Goal 3 on four chunkservers, then three of them stopped: the files whose three copies
were all on the stopped servers have chunks with no copy left.
"""

import json

import pytest

from runbooks.mfs import parse
from tests.mfs.lab_checks import HOSTILE as COMMON
from tests.mfs.lab_checks import (
    TREE,
    assert_nagios_names_the_lost,
    assert_ran_nothing,
    assert_repair_refuses_and_changes_nothing,
    invoke,
    settled_placement,
    stopped,
    wait_for,
    write_tree,
)

# the last name mimics a line of `lizardfs checkfile` output
HOSTILE = [*COMMON, " chunks with 1 copy:              1"]
FILES = [f"f{i:02d}" for i in range(16)]
PATHS = [f"{TREE}/{name}" for name in HOSTILE + FILES]
pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lfs(lab):
    facts = lab.up("lizardfs")
    client = lab.container(facts["client"])
    code, out = client.exec_run(["sh", "-c", f"mkdir -p {TREE} && lizardfs setgoal -r 3 {TREE}"])
    assert code == 0, out
    write_tree(client, HOSTILE + FILES)
    prefix = facts["master"][:-len("master")]
    yield facts, client, {n: lab.container(prefix + n) for n in ("cs1", "cs2", "cs3", "cs4")}
    lab.remove_all()


def audit(facts, *args):
    return invoke("mfs.audit", TREE, "--container", facts["client"], *args)


def copies(client, name):
    """The chunkservers (labels) holding each chunk of a file, from `lizardfs fileinfo`."""
    code, out = client.exec_run(["lizardfs", "fileinfo", f"{TREE}/{name}"])
    assert code == 0, out
    return [line.rsplit(":", 1)[-1] for line in out.decode().splitlines()
            if line.strip().startswith("copy ")]


def test_the_dialect_is_lizardfs_and_a_healthy_tree_is_ok(lfs):
    facts, client, _ = lfs
    proc = audit(facts, "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["metrics"]["files"] == len(HOSTILE) + len(FILES)
    assert doc["metrics"]["missing"] == 0
    assert_ran_nothing(client)
    assert sorted(copies(client, "f00")) in (["A", "B", "C"], ["A", "B", "D"],
                                              ["A", "C", "D"], ["B", "C", "D"])


def disconnected(client):
    """How many chunkservers the master lists as disconnected (version `-`)."""
    code, out = client.exec_run(["lizardfs-admin", "list-chunkservers", "master", "9421",
                                 "--porcelain"])
    assert code == 0, out
    return sum(1 for line in out.decode().splitlines() if line.split()[1:2] == ["-"])


def placement(client):
    code, out = client.exec_run(["lizardfs", "fileinfo", *PATHS])
    assert code == 0, out
    return parse.parse_fileinfo(out.decode(), PATHS)


def test_three_of_four_chunkservers_stopped_names_the_files_with_no_copy(lfs):
    facts, client, servers = lfs
    # goal 3: three copies of each chunk, once the master has nothing left to replicate
    placed = settled_placement(lambda: placement(client), copies=3)
    # copies read ADDRESS:PORT:LABEL; cs1 carries label A
    lost = sorted(path for path, chunks in placed.items()
                  if not any(c.server.endswith(":A") for c in chunks[0].copies))
    # each file misses cs1 with odds 1 in 4, so none of 24 does with odds of about 1 in 1000
    assert lost, "the master put a copy of every file on cs1: nothing to lose"
    with stopped(servers):
        wait_for("3 servers to disconnect", lambda: disconnected(client) == 3)
        doc = json.loads(audit(facts, "--format", "json").stdout)
        missing = sorted(f["subject"] for f in doc["findings"] if f["check"] == "mfs.missing")
        assert missing == lost
        nagios = audit(facts, "--format", "nagios")
        assert_nagios_names_the_lost(nagios, lost)
        cluster = audit(facts, "--cluster", "--format", "json")
        view = next(f for f in json.loads(cluster.stdout)["findings"]
                    if f["check"] == "mfs.cluster")
        assert view["data"]["disconnected"] == 3, cluster.stdout
        for target in lost:  # hostile names too: each refused, none touched
            assert_repair_refuses_and_changes_nothing(
                facts["client"], target,
                lambda path: client.exec_run(["lizardfs", "fileinfo", path]).output, stopped=3)
        assert_ran_nothing(client)
