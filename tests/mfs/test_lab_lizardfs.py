"""mfs.audit and mfs.repair against a real LizardFS 3.13 cluster, the story's own system.

Goal 3 on four chunkservers, then three of them stopped: the files whose three copies
were all on the stopped servers have chunks with no copy left.
"""

import json

import pytest

from runbooks.core.render import one_line
from runbooks.lab import faults
from tests.helpers import run_task

HOSTILE = ["with space", "new\nline", "quote'\"", "$(touch pwned)", "semi;colon `id`",
           "  leading", "-dash", " chunks with 1 copy:              1"]
FILES = [f"f{i:02d}" for i in range(16)]
TREE = "/mnt/mfs/t"
pytestmark = pytest.mark.lab


def invoke(*args):
    return run_task(*args, timeout=300)


@pytest.fixture(scope="module")
def lfs(lab):
    facts = lab.up("lizardfs")
    client = lab.container(facts["client"])
    script = (
        "import os, subprocess\n"
        f"os.makedirs({TREE!r}, exist_ok=True)\n"
        f"subprocess.run(['lizardfs', 'setgoal', '-r', '3', {TREE!r}], check=True,\n"
        "               stdout=subprocess.DEVNULL)\n"
        f"for name in {HOSTILE + FILES!r}:\n"
        f"    open({TREE!r} + '/' + name, 'wb').write(os.urandom(100000))\n"
    )
    code, out = client.exec_run(["python3", "-c", script])
    assert code == 0, out
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
    code, _ = client.exec_run(["sh", "-c", "ls /src/pwned /mnt/mfs/t/pwned /pwned"])
    assert code != 0, "a hostile file name ran a command"
    assert sorted(copies(client, "f00")) in (["A", "B", "C"], ["A", "B", "D"],
                                              ["A", "C", "D"], ["B", "C", "D"])


def test_three_of_four_chunkservers_stopped_names_the_files_with_no_copy(lfs):
    facts, client, servers = lfs
    placed = {name: set(copies(client, name)) for name in HOSTILE + FILES}
    lost = sorted(f"{TREE}/{name}" for name, labels in placed.items() if "A" not in labels)
    # each file misses cs1 with odds 1 in 4, so none of 24 does with odds of about 1 in 1000
    assert lost, "the master put a copy of every file on cs1: nothing to lose"
    for name in ("cs2", "cs3", "cs4"):
        faults.inject(servers[name], "stop")
    try:
        doc = json.loads(audit(facts, "--format", "json").stdout)
        missing = sorted(f["subject"] for f in doc["findings"] if f["check"] == "mfs.missing")
        assert missing == lost
        nagios = audit(facts, "--format", "nagios")
        assert nagios.returncode == 2, nagios.stdout + nagios.stderr
        assert nagios.stdout.startswith("MFS CRITICAL - " + one_line(lost[0]))
        cluster = audit(facts, "--cluster", "--format", "json")
        view = next(f for f in json.loads(cluster.stdout)["findings"]
                    if f["check"] == "mfs.cluster")
        assert view["data"]["disconnected"] == 3, cluster.stdout
        target = lost[0]
        before = client.exec_run(["lizardfs", "fileinfo", target]).output
        for extra in ([], ["--apply", "--allow-erase"]):
            repair = invoke("mfs.repair", target, "--container", facts["client"], *extra)
            assert repair.returncode == 2, repair.stdout + repair.stderr
            refused = [line for line in repair.stdout.splitlines()
                       if line.startswith("REFUSED:")]
            assert refused[0].startswith("REFUSED: 3 chunkserver(s) disconnected")
            assert client.exec_run(["lizardfs", "fileinfo", target]).output == before
    finally:
        for name in ("cs2", "cs3", "cs4"):
            faults.heal(servers[name])
