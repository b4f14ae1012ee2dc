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

from . import engine, topologies, vm
from .experiments import _now

DATA_DIR = engine.REPO_ROOT / "docs" / "data" / "experiments"
POOL_MB, VOLUME_MB, WRITE_MB, EXTEND_MB = 128, 256, 200, 256

# $1 = queue | error. Prints key=value lines; every LVM name is derived from $1.
FILL_SCRIPT = r"""
mode=$1; vg=lab; pool=full_$mode; vol=vol_$mode; mnt=/mnt/$vol
lvcreate -q -y --type thin-pool -L POOLM -n "$pool" "$vg" >/dev/null 2>&1 || exit 10
# Queue is LVM's default (and lvchange refuses to set what is already set).
if [ "$mode" = error ]; then
    lvchange -q --errorwhenfull y "$vg/$pool" >/dev/null 2>&1 || exit 11
fi
lvcreate -q -y -V VOLM -T "$vg/$pool" -n "$vol" >/dev/null 2>&1 || exit 12
mkfs.ext4 -q -E nodiscard "/dev/$vg/$vol" || exit 13
mkdir -p "$mnt" && mount "/dev/$vg/$vol" "$mnt" || exit 14
dmesg -C
start=$(date +%s%N)
# A byte pattern, not zeros: blocks a full pool never stored read back as zeros.
tr '\0' 'B' </dev/zero | dd of="$mnt/fill" bs=1M count=WRITEM iflag=fullblock conv=fsync \
    2>/tmp/dd.err
echo "dd_exit=$?"
echo "dd_ms=$(( ($(date +%s%N) - start) / 1000000 ))"
echo "dd_error=$(grep '^dd:' /tmp/dd.err | head -n 1)"
echo "file_bytes=$(stat -c %s "$mnt/fill" 2>/dev/null || echo 0)"
lvs --noheadings --separator '|' -o data_percent,metadata_percent,lv_health_status,lv_when_full \
    "$vg/$pool" | sed 's/^ */lvs=/'
echo "mount_options=$(awk -v m="$mnt" '$2 == m {print $4}' /proc/mounts)"
dmesg | grep -E 'thin|EXT4-fs|I/O error' | sed 's/^\[[ 0-9.]*\] /kernel=/' | head -n 12
""".replace("POOLM", f"{POOL_MB}M").replace("VOLM", f"{VOLUME_MB}M").replace(
    "WRITEM", str(WRITE_MB))

# Recovery as the runbook page does it: grow the pool, then check the filesystem.
RECOVER_SCRIPT = r"""
mode=$1; vg=lab; pool=full_$mode; vol=vol_$mode; mnt=/mnt/$vol
start=$(date +%s%N)
lvextend -q -L +EXTENDM "$vg/$pool" >/dev/null 2>&1; echo "extend_exit=$?"
umount "$mnt"; echo "umount_exit=$?"
fsck.ext4 -fy "/dev/$vg/$vol" >/tmp/fsck.out 2>&1; echo "fsck_exit=$?"
mount "/dev/$vg/$vol" "$mnt" &&
    echo "file_bytes_after=$(stat -c %s "$mnt/fill" 2>/dev/null || echo 0)" &&
    echo "pattern_bytes_after=$(tr -cd 'B' <"$mnt/fill" | wc -c)"
umount "$mnt"
echo "recover_ms=$(( ($(date +%s%N) - start) / 1000000 ))"
lvs --noheadings --separator '|' -o data_percent,lv_health_status "$vg/$pool" |
    sed 's/^ */lvs_after=/'
lvremove -q -y "$vg/$vol" "$vg/$pool" >/dev/null 2>&1; echo "cleanup_exit=$?"
""".replace("EXTENDM", f"{EXTEND_MB}M")

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
        filled = parse_pairs(ssh(facts, FILL_SCRIPT, mode))
        log("method", f"fill in {mode} mode", **{k: v for k, v in filled.items()
                                                 if k != "kernel"})
        recovered = parse_pairs(ssh(facts, RECOVER_SCRIPT, mode))
        log("rollback", f"extend pool by {EXTEND_MB} MiB and fsck ({mode})", **recovered)
        results[mode] = {**filled, **recovered}
    return results


RAID_SETUP = r"""
pvcreate -q -y /dev/vdb /dev/vdc /dev/vdd >/dev/null 2>&1 &&
vgcreate -q lab /dev/vdb /dev/vdc /dev/vdd >/dev/null 2>&1 &&
lvcreate -q -y --type raid1 -m1 -L 128M -n r1 lab /dev/vdb /dev/vdc >/dev/null 2>&1 || exit 20
start=$(date +%s%N)
until [ "$(lvs --noheadings -o sync_percent lab/r1 | tr -d ' ')" = 100.00 ]; do sleep 0.5; done
echo "initial_sync_ms=$(( ($(date +%s%N) - start) / 1000000 ))"
mkfs.ext4 -q /dev/lab/r1 && mkdir -p /mnt/r1 && mount /dev/lab/r1 /mnt/r1 || exit 21
head -c 50M /dev/urandom > /mnt/r1/before && sync
echo "before_md5=$(md5sum < /mnt/r1/before | cut -c1-32)"
"""

RAID_DEGRADED = r"""
sleep 2
lvs --noheadings --separator '|' -o lv_health_status,sync_percent,lv_attr lab/r1 2>/dev/null |
    sed 's/^ */lvs_degraded=/'
start=$(date +%s%N)
head -c 20M /dev/urandom > /mnt/r1/during && sync; echo "write_degraded_exit=$?"
echo "write_degraded_ms=$(( ($(date +%s%N) - start) / 1000000 ))"
echo "during_md5=$(md5sum < /mnt/r1/during | cut -c1-32)"
echo "missing_pvs=$(vgs --noheadings -o vg_missing_pv_count lab 2>/dev/null | tr -d ' ')"
dmesg | grep -E 'raid1|md/|dm-|virtio_blk' | tail -n 6 | sed 's/^\[[ 0-9.]*\] /kernel=/'
"""

RAID_RESTORE = r"""
dev=$1
start=$(date +%s%N)
pvs "$dev" >/dev/null 2>&1 || exit 30
vgextend --restoremissing lab "$dev" >/dev/null 2>&1; echo "restoremissing_exit=$?"
lvchange --refresh lab/r1 >/dev/null 2>&1; echo "refresh_exit=$?"
until [ "$(lvs --noheadings -o sync_percent lab/r1 | tr -d ' ')" = 100.00 ]; do sleep 0.5; done
echo "resync_ms=$(( ($(date +%s%N) - start) / 1000000 ))"
lvs --noheadings --separator '|' -o lv_health_status,sync_percent,lv_attr lab/r1 |
    sed 's/^ */lvs_after=/'
echo "before_md5_after=$(md5sum < /mnt/r1/before | cut -c1-32)"
echo "during_md5_after=$(md5sum < /mnt/r1/during | cut -c1-32)"
echo "raid_mismatch_count=$(lvs --noheadings -o raid_mismatch_count lab/r1 | tr -d ' ')"
"""


# Metadata runs out long after data in ordinary use (2 MiB of it maps gigabytes),
# so the experiment makes metadata expensive instead: snapshots of one origin,
# each then written once per metadata leaf, so that every write unshares a
# 4 KiB btree leaf while using one 64 KiB data chunk.
META_SETUP = r"""
pvcreate -q -y /dev/vdb /dev/vdc >/dev/null 2>&1 && vgcreate -q lab /dev/vdb /dev/vdc \
    >/dev/null 2>&1 || exit 40
lvcreate -q -y --type thin-pool -L 1500M --poolmetadatasize 2M --chunksize 64k -n mpool lab \
    >/dev/null 2>&1 || exit 41
lvchange -q --errorwhenfull y lab/mpool >/dev/null 2>&1 || exit 42
lvcreate -q -y -V 800M -T lab/mpool -n origin >/dev/null 2>&1 || exit 43
head -c 800M /dev/urandom > /dev/lab/origin || exit 44
sync
echo "origin_md5=$(md5sum < /dev/lab/origin | cut -c1-32)"
for i in $(seq 1 SNAPS); do
    lvcreate -q -y -s -n "snap$i" lab/origin >/dev/null 2>&1 || exit 45
done
lvchange -q -ay -K lab/$(printf 'snap%s ' $(seq 1 SNAPS) | sed 's/ $//; s/ / lab\//g') \
    >/dev/null 2>&1 || exit 46
lvs --noheadings --separator '|' -o data_percent,metadata_percent,lv_health_status lab/mpool |
    sed 's/^ */lvs_before=/'
"""

# Writes one 4 KiB block every 16 MiB (about one metadata leaf) into each snapshot
# until a write fails; prints how many succeeded and the pool's state.
META_FILL = r"""
ok=0; failed=0
start=$(date +%s%N)
for i in $(seq 1 SNAPS); do
    for mib in $(seq 0 16 799); do
        if dd if=/dev/urandom of="/dev/lab/snap$i" bs=4k count=1 seek=$((mib * 256)) \
               oflag=direct conv=notrunc status=none 2>/dev/null; then
            ok=$((ok + 1))
        else
            failed=$((failed + 1)); [ "$failed" -ge 3 ] && break 2
        fi
    done
done
echo "writes_ok=$ok"
echo "writes_failed=$failed"
echo "fill_ms=$(( ($(date +%s%N) - start) / 1000000 ))"
lvs --noheadings --separator '|' -o data_percent,metadata_percent,lv_health_status,lv_attr \
    lab/mpool | sed 's/^ */lvs_full=/'
dmesg | grep -E 'thin|metadata' | tail -n 6 | sed 's/^\[[ 0-9.]*\] /kernel=/'
"""

# The offline repair the lesson describes, then what is left readable.
META_REPAIR = r"""
start=$(date +%s%N)
lvchange -q -an lab/mpool >/dev/null 2>&1
vgchange -q -an lab >/dev/null 2>&1; echo "deactivate_exit=$?"
lvconvert -q -y --repair lab/mpool >/tmp/repair.out 2>&1; echo "repair_exit=$?"
echo "repair_said=$(tr '\n' ' ' </tmp/repair.out | sed 's/  */ /g')"
lvextend -q --poolmetadatasize +8M lab/mpool >/dev/null 2>&1; echo "meta_extend_exit=$?"
lvchange -q -ay lab/origin >/dev/null 2>&1; echo "origin_activate_exit=$?"
echo "origin_md5_after=$(md5sum < /dev/lab/origin | cut -c1-32)"
active=0
for i in $(seq 1 SNAPS); do
    lvchange -q -ay -K "lab/snap$i" >/dev/null 2>&1 && active=$((active + 1))
done
echo "snapshots_activated=$active"
echo "repair_ms=$(( ($(date +%s%N) - start) / 1000000 ))"
lvs --noheadings --separator '|' -o data_percent,metadata_percent,lv_health_status lab/mpool |
    sed 's/^ */lvs_after=/'
lvs --noheadings -o lv_name lab | grep -c meta | sed 's/^/kept_metadata_copies=/'
"""
META_SNAPSHOTS = 20


def _meta(script: str) -> str:
    return script.replace("SNAPS", str(META_SNAPSHOTS))


def thin_metadata_full(facts: dict[str, Any], log: Any) -> dict[str, Any]:
    setup = parse_pairs(ssh(facts, _meta(META_SETUP)))
    log("steady-state", f"pool with 2 MiB metadata, 800 MiB origin, {META_SNAPSHOTS} "
        "snapshots", **setup)
    filled = parse_pairs(ssh(facts, _meta(META_FILL), timeout=900))
    log("method", "write into every snapshot until writes fail",
        **{k: v for k, v in filled.items() if k != "kernel"})
    repaired = parse_pairs(ssh(facts, _meta(META_REPAIR), timeout=900))
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
    setup = parse_pairs(ssh(facts, RAID_SETUP))
    log("steady-state", "raid1 r1 on vdb+vdc in sync, ext4 with 50 MiB written", **setup)
    monitor(facts, "device_del vdc")
    log("method", "pull disk vdc out of the VM (qemu device_del)")
    degraded = parse_pairs(ssh(facts, RAID_DEGRADED))
    log("method", "write while degraded", **{k: v for k, v in degraded.items() if k != "kernel"})
    disk = Path(facts["state"]) / "vdc.qcow2"
    monitor(facts, f"drive_add 0 file={disk},if=none,id=drive-vdc-back,format=qcow2")
    monitor(facts, "device_add virtio-blk-pci,drive=drive-vdc-back,id=vdc-back")
    time.sleep(3)
    names = ssh(facts, "lsblk -dn -o NAME | grep '^vd'").split()
    back = sorted(n for n in names if n not in ("vda", "vdb", "vdd", "vde"))
    if not back:
        raise engine.LabError(f"the disk did not come back: {names}")
    restored = parse_pairs(ssh(facts, RAID_RESTORE, f"/dev/{back[0]}"))
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
