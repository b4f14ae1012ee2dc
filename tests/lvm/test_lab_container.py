"""lvm.health and lvm.extend-pool against real LVM metadata on loop devices in a container.

The container kernel has no device-mapper, so nothing is active: this checks the
collect script, the JSON of a real lvm2 2.03.16, and that inactive volumes are
judged without usage figures. Fill levels of active pools need the VM lab.
"""

import json
import os

import pytest

from tests.helpers import run_task

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lvm_meta(lab):
    engine = lab.engine
    image = engine.build_image("lvm-meta", lab.client)
    name = f"bp-t{os.getpid()}-lvm-meta"
    container = engine.run_container(
        lab.client, image, name, "lvm-meta", cap_add=["SYS_ADMIN"],
        devices=["/dev/loop-control:/dev/loop-control:rwm"],
        device_cgroup_rules=["b 7:* rwm"])  # loop block devices
    try:
        engine.exec_checked(container, ["lvm-meta-setup"], "lvm-meta setup")
        yield name
    finally:
        container.exec_run(["lvm-meta-teardown"])  # loop devices outlive the container
        lab.remove(name)


def test_health_judges_every_inactive_volume(lvm_meta):
    proc = run_task("lvm.health", "--container", lvm_meta, "--format", "json")
    assert proc.returncode == 1, proc.stderr  # the legacy mirror only
    findings = {f["subject"]: f for f in json.loads(proc.stdout)["findings"]}
    assert set(findings) == {"vglab", "vglab/plain", "vglab/pool", "vglab/pool2",
                             "vglab/thin1", "vglab/r1", "vglab/mir"}
    assert findings["vglab/mir"]["severity"] == "WARN"
    pool = findings["vglab/pool"]
    assert pool["severity"] == "OK" and "no usage figures" in pool["message"]
    assert pool["data"]["lv"]["data_percent"] is None and pool["data"]["state"] == "inactive"
    assert "when full: writes queue" in pool["message"]
    assert "writes fail at once" in findings["vglab/pool2"]["message"]


def test_nagios_names_the_mirror(lvm_meta):
    proc = run_task("lvm.health", "--container", lvm_meta, "--format", "nagios")
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith("LVM WARNING - vglab/mir: legacy mirror")


def test_extend_pool_dry_run_shows_the_free_space_and_no_undo(lvm_meta):
    proc = run_task("lvm.extend-pool", "--container", lvm_meta, "--pool", "vglab/pool",
                    "--size", "+100M")
    assert proc.returncode == 0, proc.stderr
    assert "vglab: 192 free extents of 4.0 MiB (768 MiB); this uses 25" in proc.stdout
    assert "run:  lvextend -L +100M vglab/pool" in proc.stdout
    assert "undo: (no automatic undo)" in proc.stdout and "cannot shrink" in proc.stdout
    assert "dry run: nothing changed" in proc.stdout


def test_extend_pool_refuses_more_than_the_vg_has(lvm_meta):
    proc = run_task("lvm.extend-pool", "--container", lvm_meta, "--pool", "vglab/pool",
                    "--size", "1G")
    assert proc.returncode == 3
    assert "vglab has 192 free extents, the growth needs 256" in proc.stderr
    proc = run_task("lvm.extend-pool", "--container", lvm_meta, "--pool", "vglab/plain",
                    "--size", "4M")
    assert proc.returncode == 3 and "not a thin pool" in proc.stderr


def test_hostile_pool_name_never_reaches_the_target(lvm_meta):
    proc = run_task("lvm.extend-pool", "--container", lvm_meta, "--pool", "vglab/$(reboot)",
                    "--size", "1G")
    assert proc.returncode == 3 and proc.stderr.startswith("error: --pool must be VG/POOL")
