"""The LVM experiments, each in a ``vm-lvm`` VM of its own (qemu, Debian kernel, lvm2).

Steady state: the VM answers over SSH and LVM runs. Each experiment builds
its volumes on the VM's empty disks with the scripts in scripts/
({thin,meta,raid}-*.sh); the recovery measured (extend and fsck, repair,
resync) is part of the method. The VM is thrown away afterwards.
"""

from __future__ import annotations

import shlex
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from ..core.scripts import load
from . import labs
from .runner import Experiment, Probe, Run, System

POOL_MB, VOLUME_MB, WRITE_MB, EXTEND_MB = 128, 256, 200, 256
META_SNAPSHOTS = 20
SETUP_SCRIPT = """
pvcreate -q -y /dev/vdb /dev/vdc >/dev/null && vgcreate -q lab /dev/vdb /dev/vdc >/dev/null
cat /sys/module/dm_thin_pool/parameters/no_space_timeout
"""


def ssh(run: Run, script: str, *args: str, timeout: float = 600) -> str:
    """Run a constant script in the VM over SSH with arguments as data."""
    remote = "sh -c " + shlex.quote(script) + " exp " + " ".join(shlex.quote(a) for a in args)
    proc = subprocess.run(["ssh", "-F", run.facts["ssh_config"], "lvm-vm", remote],
                          capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise labs.LabError(f"VM script failed ({proc.returncode}): "
                            f"{(proc.stderr or proc.stdout).strip()[-300:]}")
    return proc.stdout


def parse_pairs(text: str) -> dict[str, Any]:
    """key=value lines; repeated keys (kernel=...) become lists."""
    result: dict[str, Any] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            continue
        if key == "kernel":
            result.setdefault("kernel", []).append(value.strip())
        elif key.startswith("lvs"):
            result[key] = [f.strip() for f in value.split("|")]
        else:
            value = value.strip()
            result[key] = int(value) if value.lstrip("-").isdigit() else value
    return result


def pairs(run: Run, script: str, *args: str, timeout: float = 600) -> dict[str, Any]:
    """A script run in the VM, its key=value output parsed."""
    return parse_pairs(ssh(run, script, *args, timeout=timeout))


def _without_kernel(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k != "kernel"}


def thin_pool_full(run: Run) -> dict[str, Any]:
    with run.step("volume group lab on vdb+vdc") as step:
        timeout = int(ssh(run, SETUP_SCRIPT).strip().splitlines()[-1])
        step.output = {"no_space_timeout": timeout}
    results: dict[str, Any] = {"no_space_timeout_s": timeout, "pool_mib": POOL_MB,
                               "volume_mib": VOLUME_MB, "write_mib": WRITE_MB}
    for mode in ("error", "queue"):
        with run.step(f"fill in {mode} mode") as step:
            filled = pairs(run, load(__package__, "thin-fill.sh"), mode, str(POOL_MB),
                           str(VOLUME_MB), str(WRITE_MB))
            step.output = _without_kernel(filled)
        recovered = run.action(f"extend pool by {EXTEND_MB} MiB and fsck ({mode})", pairs, run,
                               load(__package__, "thin-recover.sh"), mode, str(EXTEND_MB))
        results[mode] = {**filled, **recovered}
    return results


def thin_metadata_full(run: Run) -> dict[str, Any]:
    snapshots = str(META_SNAPSHOTS)
    setup = run.action(f"pool with 2 MiB metadata, 800 MiB origin, {META_SNAPSHOTS} snapshots",
                       pairs, run, load(__package__, "meta-setup.sh"), snapshots)
    with run.step("write into every snapshot until writes fail") as step:
        filled = pairs(run, load(__package__, "meta-fill.sh"), snapshots, timeout=900)
        step.output = _without_kernel(filled)
    repaired = run.action("deactivate, lvconvert --repair, grow metadata, reactivate", pairs,
                          run, load(__package__, "meta-repair.sh"), snapshots, timeout=900)
    return {"snapshots": META_SNAPSHOTS, "setup": setup, "filled": filled,
            "repaired": repaired}


def monitor(run: Run, command: str) -> str:
    """One command to the VM's qemu monitor (HMP over its unix socket)."""
    path = str(Path(run.facts["state"]) / "monitor.sock")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(path)
        time.sleep(0.3)
        sock.recv(4096)  # the banner
        sock.sendall(command.encode() + b"\n")
        time.sleep(1.0)
        return sock.recv(65536).decode("utf-8", "replace")


def _disk_back(run: Run) -> str:
    """Plug vdc's image back in; the name the VM gives it."""
    disk = Path(run.facts["state"]) / "vdc.qcow2"
    monitor(run, f"drive_add 0 file={disk},if=none,id=drive-vdc-back,format=qcow2")
    monitor(run, "device_add virtio-blk-pci,drive=drive-vdc-back,id=vdc-back")
    time.sleep(3)
    names = ssh(run, "lsblk -dn -o NAME | grep '^vd'").split()
    back = sorted(n for n in names if n not in ("vda", "vdb", "vdd", "vde"))
    if not back:
        raise labs.LabError(f"the disk did not come back: {names}")
    return f"/dev/{back[0]}"


def raid1_leg_lost(run: Run) -> dict[str, Any]:
    setup = run.action("raid1 r1 on vdb+vdc in sync, ext4 with 50 MiB written", pairs, run,
                       load(__package__, "raid-setup.sh"))
    with run.step("pull disk vdc out of the VM (qemu device_del)"):
        monitor(run, "device_del vdc")
    with run.step("write while degraded") as step:
        degraded = pairs(run, load(__package__, "raid-degraded.sh"))
        step.output = _without_kernel(degraded)
    returned = run.action("plug vdc's disk back in", _disk_back, run)
    restored = run.action(f"disk back as {returned}, restoremissing + refresh, resync", pairs,
                          run, load(__package__, "raid-restore.sh"), returned)
    return {"setup": setup, "degraded": degraded, "restored": restored,
            "returned_as": returned}


# --- the definitions --------------------------------------------------------------------------

def versions(run: Run) -> dict[str, str]:
    found = parse_pairs(ssh(run, "echo kernel_release=$(uname -r); "
                                 "echo lvm2=$(dpkg-query -W -f '${Version}' lvm2)"))
    return {"kernel": found.get("kernel_release", ""), "lvm2": found.get("lvm2", "")}


def _down(run: Run) -> None:
    labs.vm_stop_instance(labs.vm_instance_dir(run.prefix))


SYSTEM = System(
    description="vm-lvm: qemu TCG, Debian 12 kernel, lvm2; VG lab on two 1 GiB virtio disks",
    up=lambda prefix: labs.up("vm-lvm", prefix=prefix), down=_down, versions=versions,
    lab="vm-lvm")
STEADY_STATE = (Probe("the VM answers and LVM runs",
                      lambda run: ssh(run, "pvs >/dev/null && echo ok").strip(), "ok"),)

EXPERIMENTS = {e.name: e for e in (
    Experiment("thin-pool-full", "Writing past a full thin pool, in error and in queue mode",
               SYSTEM, STEADY_STATE, thin_pool_full),
    Experiment("raid1-leg-lost", "A raid1 LV losing one of its two disks, and its resync",
               SYSTEM, STEADY_STATE, raid1_leg_lost),
    Experiment("thin-metadata-full", "Exhausting a thin pool's metadata, and lvconvert --repair",
               SYSTEM, STEADY_STATE, thin_metadata_full),
)}
