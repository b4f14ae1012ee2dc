"""mfs.audit and mfs.repair on this host with stand-in tools (shell scripts on PATH).

The MooseFS stand-ins print the lab's formats; the LizardFS ones replay output captured from
a LizardFS 3.13 cluster with three of four chunkservers stopped (tests/data/lizardfs).
Bad tool output is UNKNOWN naming the line, and a check that looks at nothing is UNKNOWN.
"""

import hashlib
import json
import os
import shlex
import stat
from pathlib import Path

import pytest

from tests.helpers import DATA, run_task

LIZ = DATA / "lizardfs"


def fake_tool(bindir: Path, name: str, body: str) -> None:
    path = bindir / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def fake_mount(bindir: Path, mount_point: Path, fstype: str, source: str) -> None:
    """findmnt answering as if ``mount_point`` were a mount of ``fstype`` from ``source``."""
    fake_tool(bindir, "findmnt", f"echo {shlex.quote(f'{mount_point} {fstype} {source}')}")


def stand_in_tree(tmp_path: Path) -> tuple[Path, Path]:
    """A one-file tree under a folder that findmnt calls a MooseFS mount, and a bin/ for
    the stand-in tools."""
    root = tmp_path / "tree"
    root.mkdir()
    (root / "a").write_text("x")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake_mount(bindir, tmp_path, "fuse", "mfs#mfsmaster:9421")
    return root, bindir


@pytest.fixture
def tree(tmp_path):
    root, bindir = stand_in_tree(tmp_path)
    fake_tool(bindir, "mfsgetgoal", 'echo "$2:"; echo " files with goal 2 : 1"')
    fake_tool(bindir, "mfscheckfile",
              'for p; do echo "$p:"; echo " chunks with 2 copies:  1"; done')
    fake_tool(bindir, "mfsfileinfo", 'for p; do echo "$p:"; '
              "printf '\\tchunk 0: 00000000000000A1_00000001 / (id:161 ver:1)\\n"
              "\\t\\tno valid copies !!!\\n'; done")
    return root, bindir


def run(bindir, task, *args, path_rest=None):
    rest = os.environ["PATH"] if path_rest is None else path_rest
    env = dict(os.environ, PATH=f"{bindir}:{rest}", BP_STATE_DIR=str(bindir.parent / "state"),
               BP_HOST_RECORD=str(bindir.parent / "host" / "changes.jsonl"))
    return run_task(task, *args, env=env, timeout=60)


def test_unparsable_tool_output_is_unknown_with_the_offending_line(tree):
    root, bindir = tree
    fake_tool(bindir, "mfscheckfile", 'echo "$1:"; echo " chunks with lots of copies: many"')
    proc = run(bindir, "mfs.audit", str(root), "--format", "nagios")
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stdout.startswith("MFS UNKNOWN - ")
    assert "chunks with lots of copies: many" in proc.stderr


def test_missing_tools_are_named(tree):
    root, _ = tree
    empty = root.parent / "nobin"
    empty.mkdir()
    proc = run(empty, "mfs.audit", str(root), path_rest="/usr/bin:/bin")
    assert proc.returncode == 3
    assert "neither MooseFS (mfscheckfile) nor LizardFS" in proc.stderr


def test_zero_copy_chunk_from_the_tool_is_critical(tree):
    root, bindir = tree
    fake_tool(bindir, "mfscheckfile",
              'for p; do echo "$p:"; echo " chunks with 0 copies:  1"; done')
    proc = run(bindir, "mfs.audit", str(root), "--format", "nagios")
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout.startswith(f"MFS CRITICAL - {root}/a: 1 chunk with 0 copies (goal 2")
    json_proc = run(bindir, "mfs.audit", str(root), "--format", "json")
    (finding,) = json.loads(json_proc.stdout)["findings"]
    assert finding["data"]["chunk_detail"][0]["chunk_id"] == "00000000000000A1"


# --- No false green: what matched nothing is UNKNOWN (exit 3), one line on stderr ---------

def assert_unknown(proc, *words):
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    for word in words:
        assert word in proc.stderr


@pytest.mark.parametrize("task", ["mfs.audit", "mfs.repair"])
def test_a_directory_without_files_is_unknown(tree, task):
    root, bindir = tree
    (root / "empty").mkdir()
    assert_unknown(run(bindir, task, str(root / "empty")), f"no file under {root}/empty")


@pytest.mark.parametrize("task", ["mfs.audit", "mfs.repair"])
def test_a_path_not_on_a_moosefs_or_lizardfs_mount_is_unknown(tree, task):
    root, bindir = tree
    (bindir / "findmnt").unlink()  # the real findmnt: the test's directory is on a local disk
    assert_unknown(run(bindir, task, str(root)), f"{root} is not on a MooseFS/LizardFS mount")


def test_a_path_that_does_not_exist_is_unknown(tree):
    root, bindir = tree
    (bindir / "findmnt").unlink()
    assert_unknown(run(bindir, "mfs.audit", str(root / "gone")), f"{root}/gone")


def test_nagios_gets_an_unknown_line_for_a_tree_without_files(tree):
    root, bindir = tree
    (root / "empty").mkdir()
    proc = run(bindir, "mfs.audit", str(root / "empty"), "--format", "nagios")
    assert proc.returncode == 3 and proc.stdout.startswith("MFS UNKNOWN - ")


# --- LizardFS, replaying the captured output ----------------------------------------------

CAPTURED_MOUNT = (LIZ / "captured-proc-mounts.txt").read_text().split()  # source, point, type


@pytest.fixture
def lizardfs(tmp_path):
    """A stand-in LizardFS client: the captured cluster, 3 of 4 chunkservers stopped.

    ``big file`` and ``f17`` have a chunk with no valid copy. Every call of a stand-in
    tool is logged, so a test can tell whether filerepair ran.
    """
    mount = tmp_path / "lfs"
    root = mount / "h"
    root.mkdir(parents=True)
    (root / "big file").write_bytes(b"B" * 4096)
    (root / "f17").write_bytes(b"F" * 4096)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "calls.log"
    data = shlex.quote(str(LIZ))
    fake_mount(bindir, mount, CAPTURED_MOUNT[2], CAPTURED_MOUNT[0])
    fake_tool(bindir, "lizardfs", f"""echo "lizardfs $*" >> {shlex.quote(str(log))}
cmd=$1; shift
case "$cmd" in
fileinfo)
    for p; do
        case "$p" in */f17) f=fileinfo-f17 ;; *) f=fileinfo-big-file ;; esac
        echo "$p:"; tail -n +2 {data}/captured-$f.txt
    done ;;
filerepair)
    [ "$1" = -c ] && {{ c=1; shift; }}
    for p; do
        echo "$p:"
        if [ -n "$c" ]; then printf ' chunks not changed: %10u\\n chunks erased:      %10u\\n' 2 0
        else printf ' chunks not changed: %10u\\n chunks erased:      %10u\\n' 1 1; fi
        printf ' chunks repaired:    %10u\\n' 0
    done ;;
*) exit 1 ;;
esac""")
    fake_tool(bindir, "lizardfs-admin", f"""echo "lizardfs-admin $*" >> {shlex.quote(str(log))}
cat {data}/captured-$1.txt""")
    return root, bindir, log


def calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def digest(root: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.iterdir())}


@pytest.mark.parametrize("master", [
    ["--master", "mfsmaster:9421", "--dialect", "lizardfs"],  # as in the report of issue 12
    ["--master", "mfsmaster:9421"],
    [],
])
def test_lizardfs_repair_refuses_while_a_chunkserver_is_disconnected(lizardfs, master):
    root, bindir, log = lizardfs
    before = digest(root)
    proc = run(bindir, "mfs.repair", str(root / "big file"), *master, "--allow-erase",
               "--apply")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    refused = [line for line in proc.stdout.splitlines() if line.startswith("REFUSED:")]
    assert refused == [
        "REFUSED: 3 chunkserver(s) disconnected from the master (172.28.0.6:9422, "
        "172.28.0.5:9422, 172.28.0.4:9422): their copies count as absent, so repair would "
        "erase or roll back chunks that come back with them. Bring them back first."]
    assert not [c for c in calls(log) if "filerepair" in c]
    assert digest(root) == before  # nothing changed, no copy made either
    # the master comes from the fuse.mfs mount when --master is not given
    assert "lizardfs-admin list-chunkservers mfsmaster 9421 --porcelain" in calls(log)


def test_lizardfs_cluster_audit_counts_connected_and_disconnected_servers(lizardfs):
    root, bindir, _ = lizardfs
    proc = run(bindir, "mfs.audit", str(root), "--cluster", "--format", "json")
    assert proc.returncode == 2, proc.stderr
    doc = json.loads(proc.stdout)
    cluster = next(f for f in doc["findings"] if f["check"] == "mfs.cluster")
    assert "1 chunkserver connected, 3 disconnected" in cluster["message"]
    assert (cluster["subject"], cluster["data"]["servers"], cluster["data"]["disconnected"]) \
        == ("master mfsmaster:9421", 1, 3)


def test_lizardfs_tools_are_found_without_dialect(lizardfs):
    """Only `lizardfs` installed: auto-detection must find it (dash's `command -v` looks at
    its first argument only)."""
    root, bindir, log = lizardfs
    proc = run(bindir, "mfs.audit", str(root), "--cluster", path_rest="/usr/bin:/bin")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "lizardfs-admin list-chunkservers mfsmaster 9421 --porcelain" in calls(log)


def test_a_master_that_lists_no_chunkserver_is_unknown(lizardfs):
    root, bindir, _ = lizardfs
    fake_tool(bindir, "lizardfs-admin", "exit 0")  # every answer empty
    proc = run(bindir, "mfs.audit", str(root), "--cluster", "--format", "nagios")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert proc.stdout.startswith("MFS UNKNOWN - ") and "lists no chunkserver" in proc.stdout


def healthy_cluster(bindir: Path, log: Path) -> None:
    """The captured master with only its connected chunkserver left in the list."""
    connected = [line for line in (LIZ / "captured-list-chunkservers.txt").read_text()
                 .splitlines() if " - " not in line]
    fake_tool(bindir, "lizardfs-admin", f"""echo "lizardfs-admin $*" >> {shlex.quote(str(log))}
case "$1" in
list-chunkservers) echo {shlex.quote(connected[0])} ;;
*) cat {shlex.quote(str(LIZ))}/captured-$1.txt ;;
esac""")


def test_lizardfs_repair_runs_correct_only_without_allow_erase(lizardfs):
    root, bindir, log = lizardfs
    healthy_cluster(bindir, log)
    dry = run(bindir, "mfs.repair", str(root / "big file"))
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "add --apply to run lizardfs filerepair -c" in dry.stdout
    proc = run(bindir, "mfs.repair", str(root / "big file"), "--apply")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [c for c in calls(log) if "filerepair" in c] == [
        f"lizardfs filerepair -c {root}/big file"]
    assert "1 chunk(s) in 1 file(s) still have no valid copy" in proc.stdout
    assert not list(root.glob("*.before-repair-*"))


def test_lizardfs_erasing_repair_comes_after_the_correct_only_one(lizardfs):
    root, bindir, log = lizardfs
    healthy_cluster(bindir, log)
    proc = run(bindir, "mfs.repair", str(root / "big file"), "--apply", "--allow-erase")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [c for c in calls(log) if "filerepair" in c] == [
        f"lizardfs filerepair -c {root}/big file", f"lizardfs filerepair {root}/big file"]
    (copy,) = root.glob("big file.before-repair-*")
    assert copy.read_bytes() == (root / "big file").read_bytes()  # chunk 0 was readable
