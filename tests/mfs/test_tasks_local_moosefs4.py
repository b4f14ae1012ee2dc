"""mfs.audit on this host with MooseFS 4 stand-in tools (shell scripts on PATH) that print
4.59.2's formats (tests/data/moosefs4): detection from mfsmount's version, the judge by
redundancy level, and errors that MooseFS 4 prints on stderr only."""

import json

import pytest

from tests.mfs.test_tasks_local import fake_tool, run, stand_in_tree


@pytest.fixture
def tree4(tmp_path):
    root, bindir = stand_in_tree(tmp_path)
    fake_tool(bindir, "mfsmount", 'echo "MFS version: 4.59.2-1 ; build: 2106"')
    # MooseFS 4 still ships mfsgetgoal, which only says that it is deprecated
    fake_tool(bindir, "mfsgetgoal", 'echo "mfsgetgoal is deprecated, use mfsgetsclass instead"'
              "; exit 1")
    fake_tool(bindir, "mfsgetsclass", 'if [ "$1" = -r ]; then echo "$2:"; '
              'echo "       files with storage class : 2CP :"; '
              'echo "                          count :          1"; '
              'else for p; do echo "$p: 2CP"; done; fi')
    fake_tool(bindir, "mfscheckfile",
              'for p; do echo "$p:"; echo "no copies and EC parts :          1"; done')
    fake_tool(bindir, "mfsfileinfo", 'for p; do echo "$p:"; '
              "printf '\\tchunk 0: 00000000000000A1_00000001 / (id:161 ver:1) ; mtime:1796056511 "
              "(2026-11-30 16:35:11)\\n\\t\\tmissing data copies / data parts - unrecoverable\\n'"
              "; done")
    return root, bindir


def test_moosefs4_is_detected_and_a_chunk_with_no_copy_is_critical(tree4):
    root, bindir = tree4
    proc = run(bindir, "mfs.audit", str(root), "--format", "nagios")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout.startswith(f"MFS CRITICAL - {root}/a: 1 chunk with 0 copies (storage "
                                  "class 2CP: redundancy level 1, file has 1 chunk) | ")
    (finding,) = json.loads(run(bindir, "mfs.audit", str(root), "--format", "json").stdout)[
        "findings"]
    assert finding["data"]["chunk_detail"] == [{
        "index": 0, "chunk_id": "00000000000000A1", "version": 1, "valid_copies": 0,
        "copies": [], "valid_parts": 0, "redundancy_level": None, "read_as_zeros": False}]


def test_level_zero_under_2cp_is_a_warning(tree4):
    root, bindir = tree4
    fake_tool(bindir, "mfscheckfile", 'for p; do echo "$p:"; '
              'echo "1 full copy (redundancy level: 0):          1"; done')
    proc = run(bindir, "mfs.audit", str(root), "--format", "nagios")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.startswith(f"MFS WARNING - {root}/a: 1 chunk at redundancy level 0 "
                                  "(storage class 2CP: redundancy level 1, file has 1 chunk) | ")


def test_an_error_printed_on_stderr_only_is_unknown_for_that_file(tree4):
    root, bindir = tree4
    (root / "b").write_text("y")
    fake_tool(bindir, "mfsgetsclass", 'for p; do echo "$p: 2CP"; done')
    fake_tool(bindir, "mfscheckfile", 'for p; do case "$p" in */a) echo "$p: EACCES '
              '(Permission denied)" >&2;; *) echo "$p:"; echo "2 full copies (redundancy '
              'level: 1):          1";; esac; done; exit 1')
    proc = run(bindir, "mfs.audit", str(root), "--format", "json")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    (finding,) = json.loads(proc.stdout)["findings"]
    assert (finding["check"], finding["subject"], finding["message"]) == (
        "mfs.unchecked", f"{root}/a", "could not check: EACCES (Permission denied)")


def test_explicit_moosefs3_dialect_reads_moosefs4_output_as_unknown(tree4):
    root, bindir = tree4
    # a MooseFS 3 goal answer, so that only checkfile's output is foreign
    fake_tool(bindir, "mfsgetgoal", 'echo "$2:"; echo " files with goal 2 : 1"')
    proc = run(bindir, "mfs.audit", str(root), "--dialect", "moosefs", "--format", "nagios")
    assert proc.returncode == 3
    assert proc.stdout.startswith("MFS UNKNOWN - mfscheckfile output line 2: unexpected 'no "
                                  "copies and EC parts :          1'")
