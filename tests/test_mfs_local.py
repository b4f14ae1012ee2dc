"""mfs.audit on this host with stand-in tools: bad tool output is UNKNOWN naming the line."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def fake_tool(bindir: Path, name: str, body: str) -> None:
    path = bindir / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "tree"
    root.mkdir()
    (root / "a").write_text("x")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake_tool(bindir, "mfsgetgoal", 'echo "$2:"; echo " files with goal 2 : 1"')
    fake_tool(bindir, "mfsfileinfo", 'for p; do echo "$p:"; '
              "printf '\\tchunk 0: 00000000000000A1_00000001 / (id:161 ver:1)\\n"
              "\\t\\tno valid copies !!!\\n'; done")
    return root, bindir


def run(bindir, *args):
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}")
    return subprocess.run([sys.executable, "-m", "invoke", "mfs.audit", *args], cwd=REPO,
                          env=env, capture_output=True, text=True, check=False, timeout=60)


def test_unparsable_tool_output_is_unknown_with_the_offending_line(tree):
    root, bindir = tree
    fake_tool(bindir, "mfscheckfile", 'echo "$1:"; echo " chunks with lots of copies: many"')
    proc = run(bindir, str(root), "--format", "nagios")
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stdout.startswith("MFS UNKNOWN - ")
    assert "chunks with lots of copies: many" in proc.stderr


def test_missing_tools_are_named(tree):
    root, _ = tree
    empty = root.parent / "nobin"
    empty.mkdir()
    env = dict(os.environ, PATH=f"{empty}:/usr/bin:/bin")
    proc = subprocess.run([sys.executable, "-m", "invoke", "mfs.audit", str(root)], cwd=REPO,
                          env=env, capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == 3
    assert "neither MooseFS (mfscheckfile) nor LizardFS" in proc.stderr


def test_zero_copy_chunk_from_the_tool_is_critical(tree):
    root, bindir = tree
    fake_tool(bindir, "mfscheckfile",
              'for p; do echo "$p:"; echo " chunks with 0 copies:  1"; done')
    proc = run(bindir, str(root), "--format", "nagios")
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout.startswith(f"MFS CRITICAL - {root}/a: 1 chunk with 0 copies (goal 2")
    json_proc = run(bindir, str(root), "--format", "json")
    (finding,) = __import__("json").loads(json_proc.stdout)["findings"]
    assert finding["data"]["chunk_detail"][0]["chunk_id"] == "00000000000000A1"
