"""Experiments in the vm-lvm lab: what a full thin pool does to the writes above it.

Same shape as the MooseFS experiments (steady state, method, rollback, journal;
results as data with date and versions in docs/data/experiments/). Each mode
gets a fresh 128 MiB pool holding a 256 MiB thin volume with ext4, and a
writer that tries to put 200 MiB on it with fsync.
"""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from ..core.scripts import load
from . import engine, topologies, vm
from .experiments import _now

DATA_DIR = engine.REPO_ROOT / "docs" / "data" / "experiments"
POOL_MB, VOLUME_MB, WRITE_MB, EXTEND_MB = 128, 256, 200, 256
META_SNAPSHOTS = 20
# The experiments' scripts are runbooks/lab/scripts/{thin,raid,meta}-*.sh.
SETUP_SCRIPT = """
pvcreate -q -y /dev/vdb /dev/vdc >/dev/null && vgcreate -q lab /dev/vdb /dev/vdc >/dev/null
cat /sys/module/dm_thin_pool/parameters/no_space_timeout
"""


def ssh(facts: dict[str, Any], script: str, *args: str, timeout: float = 600) -> str:
    """Run a constant script in the VM over SSH with arguments as data."""
    remote = "sh -c " + shlex.quote(script) + " exp " + " ".join(shlex.quote(a) for a in args)
    proc = subprocess.run(["ssh", "-F", facts["ssh_config"], "lvm-vm", remote],
                          capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise engine.LabError(f"VM script failed ({proc.returncode}): "
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
            fields = [f.strip() for f in value.split("|")]
            result[key] = fields
        else:
            value = value.strip()
            result[key] = int(value) if value.lstrip("-").isdigit() else value
    return result


def thin_pool_full(facts: dict[str, Any], log: Any) -> dict[str, Any]:
    timeout = int(ssh(facts, SETUP_SCRIPT).strip().splitlines()[-1])
    log("steady-state", "volume group lab on vdb+vdc", no_space_timeout=timeout)
    results: dict[str, Any] = {"no_space_timeout_s": timeout, "pool_mib": POOL_MB,
                               "volume_mib": VOLUME_MB, "write_mib": WRITE_MB}
    for mode in ("error", "queue"):
        filled = parse_pairs(ssh(facts, load(__package__, "thin-fill.sh"), mode, str(POOL_MB),
                                 str(VOLUME_MB), str(WRITE_MB)))
        log("method", f"fill in {mode} mode", **{k: v for k, v in filled.items()
                                                 if k != "kernel"})
        recovered = parse_pairs(ssh(facts, load(__package__, "thin-recover.sh"), mode,
                                    str(EXTEND_MB)))
        log("rollback", f"extend pool by {EXTEND_MB} MiB and fsck ({mode})", **recovered)
        results[mode] = {**filled, **recovered}
    return results


def thin_metadata_full(facts: dict[str, Any], log: Any) -> dict[str, Any]:
    snapshots = str(META_SNAPSHOTS)
    setup = parse_pairs(ssh(facts, load(__package__, "meta-setup.sh"), snapshots))
    log("steady-state", f"pool with 2 MiB metadata, 800 MiB origin, {META_SNAPSHOTS} "
        "snapshots", **setup)
    filled = parse_pairs(ssh(facts, load(__package__, "meta-fill.sh"), snapshots, timeout=900))
    log("method", "write into every snapshot until writes fail",
        **{k: v for k, v in filled.items() if k != "kernel"})
    repaired = parse_pairs(ssh(facts, load(__package__, "meta-repair.sh"), snapshots, timeout=900))
    log("rollback", "deactivate, lvconvert --repair, grow metadata, reactivate", **repaired)
    return {"snapshots": META_SNAPSHOTS, "setup": setup, "filled": filled,
            "repaired": repaired}


def monitor(facts: dict[str, Any], command: str) -> str:
    """One command to the VM's qemu monitor (HMP over its unix socket)."""
    path = str(Path(facts["state"]) / "monitor.sock")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(path)
        time.sleep(0.3)
        sock.recv(4096)  # the banner
        sock.sendall(command.encode() + b"\n")
        time.sleep(1.0)
        return sock.recv(65536).decode("utf-8", "replace")


def raid1_leg_lost(facts: dict[str, Any], log: Any) -> dict[str, Any]:
    setup = parse_pairs(ssh(facts, load(__package__, "raid-setup.sh")))
    log("steady-state", "raid1 r1 on vdb+vdc in sync, ext4 with 50 MiB written", **setup)
    monitor(facts, "device_del vdc")
    log("method", "pull disk vdc out of the VM (qemu device_del)")
    degraded = parse_pairs(ssh(facts, load(__package__, "raid-degraded.sh")))
    log("method", "write while degraded", **{k: v for k, v in degraded.items() if k != "kernel"})
    disk = Path(facts["state"]) / "vdc.qcow2"
    monitor(facts, f"drive_add 0 file={disk},if=none,id=drive-vdc-back,format=qcow2")
    monitor(facts, "device_add virtio-blk-pci,drive=drive-vdc-back,id=vdc-back")
    time.sleep(3)
    names = ssh(facts, "lsblk -dn -o NAME | grep '^vd'").split()
    back = sorted(n for n in names if n not in ("vda", "vdb", "vdd", "vde"))
    if not back:
        raise engine.LabError(f"the disk did not come back: {names}")
    restored = parse_pairs(ssh(facts, load(__package__, "raid-restore.sh"), f"/dev/{back[0]}"))
    log("rollback", f"disk back as /dev/{back[0]}, restoremissing + refresh, resync", **restored)
    return {"setup": setup, "degraded": degraded, "restored": restored,
            "returned_as": f"/dev/{back[0]}"}


EXPERIMENTS = {
    "thin-pool-full": ("Writing past a full thin pool, in error and in queue mode",
                       thin_pool_full),
    "raid1-leg-lost": ("A raid1 LV losing one of its two disks, and its resync",
                       raid1_leg_lost),
    "thin-metadata-full": ("Exhausting a thin pool's metadata, and lvconvert --repair",
                           thin_metadata_full),
}


def run_experiment(name: str, out_dir: Path = DATA_DIR) -> Path:
    """Run one experiment in a fresh vm-lvm lab and write its JSON result."""
    title, method = EXPERIMENTS[name]
    prefix = f"bp-exp-{name}"
    journal: list[dict[str, Any]] = []
    began = time.monotonic()

    def log(phase: str, action: str, **observed: Any) -> None:
        journal.append({"t": round(time.monotonic() - began, 2), "phase": phase,
                        "action": action, **observed})
        engine.log(f"{name} [{phase}] {action}")

    started = _now()
    facts = topologies.up("vm-lvm", prefix=prefix)
    versions: dict[str, str] = {}
    try:
        log("steady-state", "VM up", seconds=facts.get("seconds"))
        versions = parse_pairs(ssh(facts, "echo kernel_release=$(uname -r); "
                                   "echo lvm2=$(dpkg-query -W -f '${Version}' lvm2)"))
        versions = {"kernel": versions.get("kernel_release", ""), "lvm2": versions.get("lvm2", "")}
        results, status = method(facts, log), "completed"
    except Exception as exc:  # the journal says how far it got
        log("method", "aborted", error=str(exc))
        results, status = {}, f"aborted: {exc}"
    finally:
        vm.stop_instance(vm.instance_dir(prefix))
    doc = {"experiment": name, "title": title, "status": status, "started": started,
           "finished": _now(), "versions": versions,
           "lab": "vm-lvm: qemu TCG, Debian 12 kernel, lvm2; VG lab on two 1 GiB virtio disks",
           "results": results, "journal": journal}
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    if status != "completed":
        raise engine.LabError(f"experiment {name} {status} (journal in {path})")
    return path
