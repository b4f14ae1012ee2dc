"""The vm-lvm lab: a real kernel with device-mapper, lvm.health and lvm.extend-pool on it.

One VM for the module (booting under TCG takes half a minute); each test
leaves the volume group as the next one expects it.
"""

import json
import subprocess

import pytest

from tests.helpers import run_task

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def vm_lab(lab):
    facts = lab.up_with("vm-lvm")
    yield facts
    lab.remove_prefix(facts["prefix"])


def in_vm(facts, script, check=True):
    proc = subprocess.run(["ssh", "-F", facts["ssh_config"], "lvm-vm", script],
                          capture_output=True, text=True, timeout=300, check=False)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def runbook(facts, *args):
    return run_task(*args, "--hosts", facts["inventory"], "--limit", "lvm-vm",
                    "--known-hosts", facts["known_hosts"], "--identity", facts["identity"],
                    timeout=300)


def test_vm_boots_a_kernel_with_device_mapper(vm_lab):
    # No time limit here: on a fresh machine lab.up includes the VM image build, and
    # how fast it boots is a figure to report, not a test (the boot time-out is vm.py's).
    out = in_vm(vm_lab, "uname -r; ls /sys/module | grep -c '^dm_'; lvm version").stdout
    assert "amd64" in out.splitlines()[0]
    assert int(out.splitlines()[1]) >= 3  # dm_mod, dm_thin_pool, dm_raid...
    assert "LVM version:" in out


def test_no_volume_group_is_unknown_and_so_is_a_vg_that_matches_none(vm_lab):
    # The fresh VM has lvm2 and empty disks: nothing to judge is not OK.
    proc = runbook(vm_lab, "lvm.health", "--format", "nagios")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert proc.stdout.startswith("LVM UNKNOWN - no volume group found (vgs lists none): "
                                  "nothing to check |")
    in_vm(vm_lab, "pvcreate -q -y /dev/vdd && vgcreate -q other /dev/vdd")
    try:
        found = runbook(vm_lab, "lvm.health", "--vg", "other", "--format", "nagios")
        assert found.returncode == 0, found.stdout + found.stderr
        missing = runbook(vm_lab, "lvm.health", "--vg", "data", "--format", "nagios")
        assert missing.returncode == 3, missing.stdout + missing.stderr
        assert missing.stdout.startswith("LVM UNKNOWN - no volume group named data (found: "
                                         "other) |")
    finally:
        in_vm(vm_lab, "vgremove -q -f other && pvremove -q /dev/vdd")


def test_pool_at_50_percent_is_ok_and_at_95_percent_critical(vm_lab):
    in_vm(vm_lab, "pvcreate -q -y /dev/vdb /dev/vdc && vgcreate -q lab /dev/vdb /dev/vdc && "
                  "lvcreate -q -y --type thin-pool -L 100M -n pool lab && "
                  "lvcreate -q -y -V 200M -T lab/pool -n thin1 && "
                  "dd if=/dev/zero of=/dev/lab/thin1 bs=1M count=50 oflag=direct status=none")
    half = runbook(vm_lab, "lvm.health", "--format", "nagios")
    assert half.returncode == 0, half.stdout + half.stderr
    assert half.stdout.startswith("LVM OK")
    in_vm(vm_lab, "dd if=/dev/zero of=/dev/lab/thin1 bs=1M count=45 seek=50 oflag=direct "
                  "status=none")
    full = runbook(vm_lab, "lvm.health", "--format", "nagios")
    assert full.returncode == 2, full.stdout + full.stderr
    assert full.stdout.startswith("LVM CRITICAL - lab/pool: data 95.0 %"), full.stdout
    data = json.loads(runbook(vm_lab, "lvm.health", "--format", "json").stdout)
    pool = [f for f in data["findings"] if f["subject"] == "lab/pool"]
    assert pool and pool[0]["severity"] == "CRIT"


def test_extend_pool_dry_run_changes_nothing_and_apply_grows_it(vm_lab):
    size = "lvs --noheadings --units m --nosuffix -o lv_size lab/pool"
    before = in_vm(vm_lab, size).stdout.strip()
    dry = runbook(vm_lab, "lvm.extend-pool", "--pool", "lab/pool", "--size", "+100M")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "free extents" in dry.stdout
    assert in_vm(vm_lab, size).stdout.strip() == before
    applied = runbook(vm_lab, "lvm.extend-pool", "--pool", "lab/pool", "--size", "+100M",
                      "--apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert float(in_vm(vm_lab, size).stdout.strip()) > float(before)
    after = runbook(vm_lab, "lvm.health", "--format", "nagios")
    assert after.returncode == 0, after.stdout


def test_extend_pool_refuses_more_than_the_vg_has(vm_lab):
    proc = runbook(vm_lab, "lvm.extend-pool", "--pool", "lab/pool", "--size", "+50G")
    assert proc.returncode == 3
    assert "free extents" in proc.stderr and "vgextend lab" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_hostile_pool_name_is_refused_before_reaching_the_vm(vm_lab):
    proc = runbook(vm_lab, "lvm.extend-pool", "--pool", "lab/pool;touch /tmp/pwned",
                   "--size", "+1M")
    assert proc.returncode == 3
    assert in_vm(vm_lab, "test -e /tmp/pwned", check=False).returncode != 0
