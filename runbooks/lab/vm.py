"""The vm-lvm lab: a qemu VM with Debian's own kernel, for what containers cannot do here.

This machine's kernel has no device-mapper, so LVM thin pools, raid1 and
mirrors need a kernel of their own. The lab builds (once per machine, cached
by recipe) a root filesystem with debootstrap, Debian's kernel and initramfs,
lvm2 and sshd, and boots it under qemu (TCG: KVM does not boot guests here)
with four empty virtual disks. A tiny init script stands in for systemd, so
the VM answers SSH on a 127.0.0.1 port within seconds of the kernel starting.

Each VM lives in a state folder named after its lab prefix, with the qemu
pid, its disks, a known_hosts file and a one-host inventory; ``down`` and the
test harness kill the qemu process and remove that folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from ..core.scripts import load
from . import engine

TOPOLOGY = "vm-lvm"
PACKAGES = ("linux-image-amd64", "initramfs-tools", "kmod", "udev", "lvm2",
            "thin-provisioning-tools", "e2fsprogs", "openssh-server", "procps", "iproute2",
            "util-linux", "xfsprogs")
UNUSED_MODULE_DIRS = ("sound", "drivers/gpu", "drivers/media", "drivers/infiniband",
                      "drivers/iio", "drivers/usb", "drivers/hwmon", "drivers/staging",
                      "drivers/bluetooth", "drivers/net/wireless", "drivers/net/ethernet",
                      "drivers/scsi", "net/wireless", "net/bluetooth", "net/mac80211")
DATA_DISKS = ("vdb", "vdc", "vdd", "vde")
DATA_DISK_SIZE = "1G"
ROOT_SIZE = "1400M"
MEMORY_MB = 1024
BOOT_TIMEOUT = 120.0  # seconds to SSH; about 20 s is usual under TCG on two cores
TOOLS = {"qemu-system-x86_64": "qemu-system-x86", "qemu-img": "qemu-utils",
         "debootstrap": "debootstrap", "mkfs.ext4": "e2fsprogs"}

# PID 1 of the VM (scripts/vm-init.sh; its text is part of the image digest): just
# enough of a system for LVM and SSH. udev creates the /dev/mapper nodes LVM waits
# for; dmeventd monitors thin pools and raid LVs.
INIT_SCRIPT = load(__package__, "vm-init.sh")
SSHD_CONFIG = "PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n"


def _missing_tools() -> list[str]:
    return sorted({package for tool, package in TOOLS.items() if not shutil.which(tool)})


def ensure_tools() -> None:
    """qemu, qemu-img, debootstrap and mkfs.ext4 on this host (installed as root if missing)."""
    missing = _missing_tools()
    if missing:
        engine.apt_install(missing)


def _recipe_digest() -> str:
    recipe = "\n".join([*PACKAGES, INIT_SCRIPT, SSHD_CONFIG, ROOT_SIZE,
                        Path(str(engine.lab_key()) + ".pub").read_text()])
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def image_dir() -> Path:
    return engine.STATE_DIR / "vm" / "images" / _recipe_digest()


def _run(argv: list[str], what: str, timeout: float = 900) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=timeout)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise engine.LabError(f"{what}: exit {proc.returncode}: {tail[0]}")


def _customise(root: Path) -> None:
    init = root / "sbin" / "bp-init"
    init.write_text(INIT_SCRIPT)
    init.chmod(0o755)
    (root / "etc" / "hostname").write_text("lvm-vm\n")
    (root / "etc" / "ssh" / "sshd_config.d" / "lab.conf").write_text(SSHD_CONFIG)
    ssh_dir = root / "root" / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    authorized = ssh_dir / "authorized_keys"
    authorized.write_text(Path(str(engine.lab_key()) + ".pub").read_text())
    authorized.chmod(0o600)
    # Drivers a virtio VM never loads: a smaller root image is built and booted faster.
    for modules in (root / "lib" / "modules").glob("*"):
        for unused in UNUSED_MODULE_DIRS:
            shutil.rmtree(modules / "kernel" / unused, ignore_errors=True)
        _run(["chroot", str(root), "depmod", "-a", modules.name], "depmod in the VM root")
    for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for item in (root / cache).glob("*"):
            if item.is_file():
                item.unlink()


def build_image() -> Path:
    """Kernel, initramfs and root filesystem of the lab VM; built once per recipe."""
    ensure_tools()
    target = image_dir()
    if (target / "root.img").is_file():
        return target
    with engine.machine_lock(f"vm-{TOPOLOGY}"):
        if not (target / "root.img").is_file():  # built by another process meanwhile
            _build_image(target)
    return target


def _build_image(target: Path) -> None:
    engine.log(f"building the {TOPOLOGY} VM image (debootstrap, about 2 minutes)")
    start = time.monotonic()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bp-vm-", dir=target.parent) as work:
        try:
            _build_in(Path(work), target)
        finally:
            # debootstrap mounts /proc (and more) in the new root; killed half way, it
            # leaves them mounted, and nothing below a mount point could be removed.
            _unmount_below(Path(work))
    engine.log(f"{TOPOLOGY} image built in {time.monotonic() - start:.0f}s")


def _unmount_below(folder: Path) -> None:
    """Lazily unmount every file system mounted at or under ``folder``, deepest first."""
    with open("/proc/mounts", encoding="utf-8") as mounts:
        # mount points are octal-escaped there (a space is \040)
        points = [line.split()[1].encode().decode("unicode_escape") for line in mounts]
    below = [p for p in points if Path(p) == folder or Path(p).is_relative_to(folder)]
    for point in sorted(below, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)


def _build_in(work: Path, target: Path) -> None:
    """debootstrap a root in ``work``, then its kernel, initramfs and ext4 image."""
    root = work / "root"
    _run(["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}",
          "bookworm", str(root), engine.debian_mirror()], "debootstrap")
    _customise(root)
    staging = work / "image"
    staging.mkdir()
    kernels = sorted((root / "boot").glob("vmlinuz-*"))
    initrds = sorted((root / "boot").glob("initrd.img-*"))
    if not kernels or not initrds:
        raise engine.LabError("debootstrap left no kernel or initramfs in /boot")
    shutil.copy2(kernels[-1], staging / "vmlinuz")
    shutil.copy2(initrds[-1], staging / "initrd.img")
    host_key = root / "etc" / "ssh" / "ssh_host_ed25519_key.pub"
    shutil.copy2(host_key, staging / "host_key.pub")
    _run(["mkfs.ext4", "-q", "-L", "lvm-vm-root", "-d", str(root),
          str(staging / "root.img"), ROOT_SIZE], "mkfs.ext4 of the VM root")
    staging.rename(target)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def instance_dir(prefix: str) -> Path:
    return engine.STATE_DIR / "vm" / "instances" / f"{prefix}-{TOPOLOGY}"


def _qemu_command(image: Path, here: Path, port: int) -> list[str]:
    argv = [
        "qemu-system-x86_64", "-accel", "tcg", "-m", str(MEMORY_MB), "-smp", "2",
        "-display", "none", "-no-reboot",
        "-kernel", str(image / "vmlinuz"), "-initrd", str(image / "initrd.img"),
        "-append", "root=/dev/vda rw console=ttyS0 init=/sbin/bp-init net.ifnames=0 quiet",
        "-drive", f"file={here / 'root.qcow2'},if=none,id=drive-vda,format=qcow2",
        "-device", "virtio-blk-pci,drive=drive-vda,id=vda,addr=0x4",
    ]
    # Fixed PCI slots keep the guest's names (vda root, then vdb...) in this order;
    # named devices let an experiment pull one disk out (device_del).
    for slot, disk in enumerate(DATA_DISKS, start=5):
        argv += ["-drive", f"file={here / (disk + '.qcow2')},if=none,id=drive-{disk},"
                 "format=qcow2",
                 "-device", f"virtio-blk-pci,drive=drive-{disk},id={disk},addr={slot:#x}"]
    argv += [
        # User-mode network: the only way in is SSH on a loopback port of this host.
        "-netdev", f"user,id=lab,restrict=on,hostfwd=tcp:127.0.0.1:{port}-:22",
        "-device", "virtio-net-pci,netdev=lab",
        "-serial", f"file:{here / 'console.log'}",
        "-monitor", f"unix:{here / 'monitor.sock'},server,nowait",
        "-pidfile", str(here / "qemu.pid"), "-daemonize",
    ]
    return argv


def _owner_file(here: Path) -> Path:
    return here / "owner"


def start_vm(prefix: str, **_: Any) -> dict[str, Any]:
    """Boot the lab VM with four empty 1 GiB disks; ready when SSH answers as root."""
    image = build_image()
    here = instance_dir(prefix)
    stop_instance(here)
    here.mkdir(parents=True)
    _owner_file(here).write_text(engine.owner())
    _run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(image / "root.img"), "-F", "raw",
          str(here / "root.qcow2")], "qemu-img create (root overlay)")
    for disk in DATA_DISKS:
        _run(["qemu-img", "create", "-q", "-f", "qcow2", str(here / f"{disk}.qcow2"),
              DATA_DISK_SIZE], f"qemu-img create ({disk})")
    port = _free_port()
    try:
        _run(_qemu_command(image, here, port), "qemu-system-x86_64")
        engine.wait_until(lambda: engine.ssh_banner(port), BOOT_TIMEOUT, f"{TOPOLOGY} VM sshd")
    except engine.LabError as exc:
        console = (here / "console.log").read_text(errors="replace").strip().splitlines()
        stop_instance(here)  # a VM that did not come up must not keep a core busy
        last = console[-1].strip() if console else "(no console output)"
        raise engine.LabError(f"{exc}; last console line: {last}") from None
    key_type, key_data = (image / "host_key.pub").read_text().split()[:2]
    known_hosts = here / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {key_type} {key_data}\n")
    inventory = here / "inventory.ini"
    inventory.write_text("# written by `invoke lab.up vm-lvm`\n[vm]\n"
                         f"lvm-vm ansible_host=127.0.0.1 ansible_port={port} ansible_user=root\n")
    ssh_config = here / "ssh_config"
    ssh_config.write_text(
        f"Host lvm-vm\n  HostName 127.0.0.1\n  Port {port}\n  User root\n"
        f"  IdentityFile {engine.lab_key()}\n  UserKnownHostsFile {known_hosts}\n"
        "  StrictHostKeyChecking yes\n  LogLevel ERROR\n")
    return {"ssh": f"root@127.0.0.1:{port}", "host": f"root@127.0.0.1:{port}",
            "inventory": str(inventory), "known_hosts": str(known_hosts),
            "identity": str(engine.lab_key()), "ssh_config": str(ssh_config),
            "state": str(here), "disks": [f"/dev/{d}" for d in DATA_DISKS]}


def _pid(here: Path) -> int | None:
    try:
        return int((here / "qemu.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def stop_instance(here: Path) -> bool:
    """Kill one VM's qemu and remove its folder; True when there was one."""
    if not here.exists():
        return False
    pid = _pid(here)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.1)
    shutil.rmtree(here, ignore_errors=True)
    return True


def instances(owner: str | None = None) -> list[Path]:
    """VM folders, all of them or those of one owner (``manual``, ``pid:N``)."""
    root = engine.STATE_DIR / "vm" / "instances"
    found = sorted(p for p in root.glob(f"*-{TOPOLOGY}") if p.is_dir()) if root.is_dir() else []
    if owner is None:
        return found
    return [p for p in found if _owner_text(p) == owner]


def _owner_text(here: Path) -> str:
    try:
        return _owner_file(here).read_text().strip()
    except OSError:
        return ""


def reap_orphans() -> int:
    """Stop VMs of test runs whose process is gone (a killed run cannot clean up)."""
    reaped = 0
    for here in instances():
        owner = _owner_text(here)
        if owner.startswith("pid:") and not Path(f"/proc/{owner[4:]}").exists():
            reaped += stop_instance(here)
    return reaped
