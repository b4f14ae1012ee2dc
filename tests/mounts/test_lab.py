"""mounts.audit and mounts.fix against a real ext4 loop mount in a lab container."""

import json

import pytest

from tests.helpers import run_task

HOSTILE = "/srv/it's a \"nas\" $(touch /tmp/pwned); `touch /tmp/pwned2`"

pytestmark = pytest.mark.lab


@pytest.fixture
def nas(lab):
    facts = lab.up("nas")
    yield facts["container"], lab.container(facts["container"])
    lab.remove(facts["container"])


def exec_ok(container, *argv):
    code, out = container.exec_run(list(argv))
    assert code == 0, out.decode()
    return out.decode()


def test_unsafe_mount_is_critical_and_named(nas):
    name, _ = nas
    proc = run_task("mounts.audit", "--container", name, "--mount-point", "/srv/*",
                    "--format", "nagios")
    assert proc.returncode == 2, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith(
        "MOUNTS CRITICAL - /srv/nas: nobarrier, data=writeback, errors=continue (filesystem "
        "default) |"
    )
    assert "/srv/clean" not in first


def test_json_one_finding_per_problem(nas):
    name, _ = nas
    proc = run_task("mounts.audit", "--container", name, "--mount-point", "/srv/*",
                    "--format", "json")
    doc = json.loads(proc.stdout)
    problems = [(f["subject"], f["data"]["option"], f["severity"], f["data"]["source"])
                for f in doc["findings"] if f["severity"] != "OK"]
    assert problems == [
        ("/srv/nas", "nobarrier", "CRIT", "mount table"),
        ("/srv/nas", "data=writeback", "WARN", "mount table"),
        ("/srv/nas", "errors=continue", "WARN", "default"),
    ]
    assert "/srv/clean" in {f["subject"] for f in doc["findings"]}
    assert proc.returncode == 2


def test_clean_mounts_exit_zero(nas):
    name, container = nas
    exec_ok(container, "umount", "/srv/nas")
    proc = run_task("mounts.audit", "--container", name, "--mount-point", "/srv/*",
                    "--format", "nagios")
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.startswith("MOUNTS OK - ")


def test_an_unmounted_volume_is_unknown_not_ok(nas):
    # No false green: the NAS volume did not come up, its mount point is an empty folder.
    name, container = nas
    exec_ok(container, "umount", "/srv/nas")
    proc = run_task("mounts.audit", "--container", name, "--mount-point", "/srv/nas",
                    "--format", "nagios")
    assert proc.returncode == 3, proc.stdout
    assert proc.stdout.splitlines() == [
        "MOUNTS UNKNOWN - no mount at /srv/nas | targets=1 unreachable=0 mounts=0",
        f"[UNKNOWN] {name}: no mount at /srv/nas",
    ]
    fix = run_task("mounts.fix", "/srv/nas", "--container", name)
    assert fix.returncode == 3
    assert fix.stderr.strip() == "error: '/srv/nas' is not a mount point"


def test_missing_container_is_unknown_with_one_line():
    proc = run_task("mounts.audit", "--container", "bp-no-such-container", "--format", "nagios")
    assert proc.returncode == 3
    assert proc.stderr.strip() == "error: bp-no-such-container: no such container"


def test_hostile_mount_point_reported_and_fixed_without_running_anything(nas, tmp_path):
    name, container = nas
    exec_ok(container, "mkdir", "-p", HOSTILE)
    exec_ok(container, "truncate", "-s", "32M", "/srv/hostile.img")
    exec_ok(container, "mkfs.ext4", "-q", "-F", "/srv/hostile.img")
    exec_ok(container, "mount", "-o", "loop,barrier=0", "/srv/hostile.img", HOSTILE)

    doc = json.loads(run_task("mounts.audit", "--container", name, "--format", "json").stdout)
    assert (HOSTILE, "nobarrier") in {
        (f["subject"], f["data"].get("option")) for f in doc["findings"]
    }

    env = {"BP_STATE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    applied = run_task("mounts.fix", HOSTILE, "--container", name, "--apply", env=env)
    assert applied.returncode == 0, applied.stderr
    assert f"done: turn write barriers back on for {HOSTILE} (was nobarrier)" in applied.stdout
    mounts = exec_ok(container, "cat", "/proc/mounts")
    hostile_line = next(line for line in mounts.splitlines() if "hostile" in line
                        or "it's" in line)
    assert "nobarrier" not in hostile_line
    code, _ = container.exec_run(["sh", "-c", "ls /tmp/pwned* 2>/dev/null"])
    assert code != 0, "a hostile mount point name ran a command"

    undone = run_task("changes.undo", "1", "--apply", env=env)
    assert undone.returncode == 0, undone.stderr
    assert "nobarrier" in exec_ok(container, "grep", "it's", "/proc/mounts")
