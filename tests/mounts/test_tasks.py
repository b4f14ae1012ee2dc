"""The tasks as an operator runs them: exit codes, one-line errors, no tracebacks, no injection."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import DATA, REPO

INVOKE = [sys.executable, "-m", "invoke"]


def run(*args, timeout=60):
    return subprocess.run([*INVOKE, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, check=False)


def assert_one_line_error(proc, *needles):
    assert "Traceback" not in proc.stderr + proc.stdout
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0]


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_saved_copy_of_the_story_nas(tmp_path):
    saved = tmp_path / "mounts"
    saved.write_text(
        "/dev/md0 /i-data/ef9c2dc9 ext4 rw,noatime,barrier=0,data=writeback,usrquota 0 0\n"
        "/dev/md1 /boot ext4 rw,relatime 0 0\n"
    )
    proc = run("mounts.audit", "--mounts-file", str(saved), "--format", "nagios")
    assert proc.returncode == 2
    first = proc.stdout.splitlines()[0]
    assert first.startswith("MOUNTS CRITICAL - /i-data/ef9c2dc9: barrier=0, data=writeback")
    assert first.endswith("| targets=1 unreachable=0 mounts=2")


def test_json_has_one_finding_per_problem(tmp_path):
    saved = tmp_path / "mounts"
    saved.write_text("/dev/a /d ext4 rw,nobarrier,data=writeback,errors=continue 0 0\n"
                     "/dev/b /e xfs rw 0 0\n")
    proc = run("mounts.audit", "--mounts-file", str(saved), "--format", "json")
    assert proc.returncode == 2
    doc = json.loads(proc.stdout)
    problems = [(f["subject"], f["data"]["option"]) for f in doc["findings"]
                if f["severity"] != "OK"]
    assert problems == [("/d", "nobarrier"), ("/d", "data=writeback"), ("/d", "errors=continue")]
    assert doc["status"] == "CRIT" and doc["metrics"]["mounts"] == 2


def test_clean_table_exits_zero(tmp_path):
    saved = tmp_path / "mounts"
    saved.write_text("/dev/a / ext4 rw,relatime,errors=remount-ro 0 1\n")
    proc = run("mounts.audit", "--mounts-file", str(saved))
    assert proc.returncode == 0
    assert proc.stdout.strip() == "Mount options: 1 mount checked, all OK"


@pytest.mark.parametrize("fmt", ["table", "nagios", "json", "checkmk"])
def test_unreadable_mounts_file_is_unknown_with_one_line(tmp_path, fmt):
    proc = run("mounts.audit", "--mounts-file", str(tmp_path / "nope"), "--format", fmt)
    assert proc.returncode == 3
    assert_one_line_error(proc, "cannot read", "No such file or directory")


def test_unparsable_mounts_file_names_the_line(tmp_path):
    bad = tmp_path / "mounts"
    bad.write_text("/dev/a / ext4 rw 0 0\n<html>not a mount table\n")
    proc = run("mounts.audit", "--mounts-file", str(bad), "--format", "nagios")
    assert proc.returncode == 3
    assert proc.stdout.startswith("MOUNTS UNKNOWN - ")
    assert_one_line_error(proc, str(bad), "line 2: expected 6 fields")


def test_unreachable_host_is_unknown_within_the_connect_timeout():
    start = time.monotonic()
    proc = run("mounts.audit", "--host", f"127.0.0.1:{closed_port()}", "--connect-timeout", "2",
               "--format", "nagios", timeout=120)
    assert time.monotonic() - start < 60  # honoured, with a margin for a loaded machine
    assert proc.returncode == 3
    assert proc.stdout.startswith("MOUNTS UNKNOWN - ")
    assert_one_line_error(proc, "127.0.0.1", "Connection refused")


def test_silent_host_is_unknown_within_the_connect_timeout():
    # A port that accepts TCP and never speaks: what a hung sshd or a bad middlebox looks like.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        start = time.monotonic()
        proc = run("mounts.audit", "--host", f"127.0.0.1:{server.getsockname()[1]}",
                   "--connect-timeout", "2", "--format", "nagios", timeout=120)
        took = time.monotonic() - start
    assert proc.returncode == 3
    # 3 tries of 2 s with 0.5 s + 1 s backoff, not asyncssh's 2-minute default; the
    # margin holds on a loaded machine (this asserts the time-out, not a speed)
    assert took < 60
    assert_one_line_error(proc, "127.0.0.1")


def test_hostile_host_name_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    proc = run("mounts.audit", "--host", f"$(touch {marker})", "--format", "nagios")
    assert proc.returncode == 3
    assert_one_line_error(proc, "invalid host name")
    assert not marker.exists()


def test_hostile_mount_point_is_reported_verbatim_and_runs_nothing(tmp_path):
    marker = Path("/tmp/pwned")  # the name captured from the kernel points here
    marker.unlink(missing_ok=True)
    proc = run("mounts.audit", "--mounts-file", str(DATA / "proc-mounts-hostile.txt"),
               "--format", "json")
    doc = json.loads(proc.stdout)
    assert doc["findings"][0]["subject"] == "/srv/it's a \"nas\" $(touch /tmp/pwned);\tx\\y"
    assert proc.returncode == 2 and not marker.exists()


def test_bad_option_values_are_usage_errors(tmp_path):
    proc = run("mounts.audit", "--format", "xml")
    assert proc.returncode == 3
    assert_one_line_error(proc, "unknown format 'xml'")
    proc = run("mounts.audit", "--accept", "/data")
    assert proc.returncode == 3
    assert_one_line_error(proc, "--accept '/data'")


def test_fix_refuses_a_path_that_is_not_a_mount_point():
    proc = run("mounts.fix", "/no/such/mount")
    assert proc.returncode == 3
    assert_one_line_error(proc, "'/no/such/mount' is not a mount point")


def _local_mount(fstypes):
    """The first mount point of this host whose type is one of ``fstypes``."""
    for line in Path("/proc/mounts").read_text().splitlines():
        fields = line.split()
        if fields[2] in fstypes and "\\" not in fields[1]:
            return fields[1]
    pytest.skip(f"this host has no {'/'.join(sorted(fstypes))} mount")


def test_fix_without_apply_changes_nothing_on_a_clean_host(tmp_path):
    env = dict(os.environ, BP_STATE_DIR=str(tmp_path))
    proc = subprocess.run([*INVOKE, "mounts.fix", _local_mount({"ext3", "ext4", "xfs"})],
                          cwd=REPO, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "changes.jsonl").exists()


def test_fix_refuses_a_filesystem_its_rules_do_not_cover():
    proc = run("mounts.fix", "/proc")
    assert proc.returncode == 3
    assert_one_line_error(proc, "'/proc' is proc: mounts.fix only judges and changes ext3")


# No false green: a selection that matches nothing is UNKNOWN, naming what matched nothing.
def test_a_mount_point_with_nothing_mounted_is_unknown_on_this_host():
    proc = run("mounts.audit", "--mount-point", "/srv/no-such-nas", "--format", "nagios")
    assert proc.returncode == 3, proc.stdout
    assert proc.stdout.splitlines() == [
        "MOUNTS UNKNOWN - no mount at /srv/no-such-nas | targets=1 unreachable=0 mounts=0",
        "[UNKNOWN] localhost: no mount at /srv/no-such-nas",
    ]


def test_an_empty_mounts_file_is_unknown(tmp_path):
    empty = tmp_path / "mounts"
    empty.write_text("")
    proc = run("mounts.audit", "--mounts-file", str(empty), "--format", "nagios")
    assert proc.returncode == 3
    assert proc.stdout.startswith(f"MOUNTS UNKNOWN - no mounts listed in {empty} |")
    assert "Traceback" not in proc.stderr


def test_one_unmatched_mount_point_spoils_an_otherwise_clean_audit(tmp_path):
    saved = tmp_path / "mounts"
    saved.write_text("/dev/a /srv/nas ext4 rw,relatime,errors=remount-ro 0 1\n"
                     "tmpfs /run tmpfs rw 0 0\n")
    proc = run("mounts.audit", "--mounts-file", str(saved), "--mount-point", "/srv/nas",
               "--mount-point", "/srv/backup", "--mount-point", "/run")
    assert proc.returncode == 3
    assert "no mount at /srv/backup in " in proc.stdout
    assert "nothing to judge at /run: tmpfs" in proc.stdout
    assert proc.stdout.splitlines()[-1] == "Mount options: 2 UNKNOWN (1 mount checked)"


def test_undo_of_unknown_change_is_one_line(tmp_path):
    env = dict(os.environ, BP_STATE_DIR=str(tmp_path))
    proc = subprocess.run([*INVOKE, "changes.undo", "7"], cwd=REPO, capture_output=True,
                          text=True, env=env, check=False)
    assert proc.returncode == 3
    assert_one_line_error(proc, "no recorded change 7")
