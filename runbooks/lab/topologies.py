"""Lab topologies: named sets of containers that reproduce a failure story.

Each topology knows how to start itself and when it is ready (a readiness
check, never a fixed sleep).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import engine


@dataclass(frozen=True)
class Topology:
    name: str
    description: str
    start: Callable[..., dict[str, Any]]  # (client, name prefix, **options) -> facts


def _running(container: Any) -> bool:
    container.reload()
    return container.status == "running"


def _mounted(container: Any, path: str) -> bool:
    code, _ = container.exec_run(["mountpoint", "-q", path])
    return code == 0


def start_nas(cl: Any, prefix: str, **_: Any) -> dict[str, Any]:
    """One container with ext4 on loop devices: /srv/nas unsafe, /srv/clean default."""
    image = engine.build_image("nas", cl)
    name = f"{prefix}-nas"
    volumes = {}
    if (engine.REPO_ROOT / "tasks.py").is_file():  # run the runbooks from this checkout
        volumes[str(engine.REPO_ROOT)] = {"bind": "/src", "mode": "ro"}
    container = engine.run_container(
        cl, image, name, "nas",
        hostname="nas",
        cap_add=["SYS_ADMIN"],  # mount(2); --privileged is refused in our sandbox
        devices=["/dev/loop-control:/dev/loop-control:rwm"],
        device_cgroup_rules=["b 7:* rwm"],  # loop block devices
        volumes=volumes,
        ports={"22/tcp": ("127.0.0.1", None)},  # loopback only, a free port
    )
    engine.wait_until(lambda: _running(container), 20, f"{name} running")
    engine.exec_checked(container, ["nas-setup"], f"{name}: nas-setup")
    engine.wait_until(lambda: _mounted(container, "/srv/nas"), 20, f"{name} /srv/nas mounted")
    facts = {"shell": name, "container": name, "unsafe_mount": "/srv/nas",
             "clean_mount": "/srv/clean"}
    facts.update(engine.enable_ssh(container))
    return facts


CHUNKSERVERS = ("cs1", "cs2", "cs3", "cs4")
MFS_ROLES = ("master", *CHUNKSERVERS, "client")


def mfs_container(prefix: str, role: str) -> str:
    return f"{prefix}-mfs-{role}"


def registered_chunkservers(client: Any) -> int:
    """Chunkservers connected to the master that report their space (their scan is done).

    Before that the master places new chunks on fewer servers than the goal.
    """
    _, out = client.exec_run(["mfscli", "-H", "master", "-n", "-p", "-SCS"])
    ready = 0
    for line in out.decode("utf-8", "replace").splitlines():
        fields = line.split("\t")
        if fields[0] == "chunk servers:" and len(fields) > 10 and fields[10].isdigit():
            ready += int(fields[10]) > 0
    return ready


def _mount_usable(client: Any) -> bool:
    # An empty file: proves the mount works without creating a chunk that would
    # then show up in the master's counters.
    code, _ = client.exec_run(["sh", "-c", "touch /mnt/mfs/.ready && test -f /mnt/mfs/.ready "
                               "&& rm /mnt/mfs/.ready"])
    return code == 0


def start_moosefs(cl: Any, prefix: str, **_: Any) -> dict[str, Any]:
    """A MooseFS 3.0 cluster: master, four chunkservers, one FUSE client, own network."""
    image = engine.build_image("moosefs", cl)
    net_name = f"{prefix}-mfs"
    engine.network(cl, net_name, "moosefs")
    volumes = {}
    if (engine.REPO_ROOT / "tasks.py").is_file():
        volumes[str(engine.REPO_ROOT)] = {"bind": "/src", "mode": "ro"}
    containers = {}
    for role in MFS_ROLES:
        options: dict[str, Any] = {
            "hostname": role, "network": net_name,
            "cap_add": ["NET_ADMIN"],  # iptables/tc faults inside the node's namespace
        }
        if role.startswith("cs"):
            # Chunk storage: a size-limited tmpfs that the disk-full fault can fill.
            options["tmpfs"] = {"/mfsdata": "size=1g"}
        if role == "client":
            options["cap_add"] = ["NET_ADMIN", "SYS_ADMIN"]
            options["devices"] = ["/dev/fuse:/dev/fuse:rwm"]
            options["volumes"] = volumes
        containers[role] = engine.run_container(cl, image, mfs_container(prefix, role),
                                                "moosefs", **options)
    engine.exec_checked(containers["master"], ["mfs-role", "master"], "mfs master")
    for role in CHUNKSERVERS:
        engine.exec_checked(containers[role], ["mfs-role", "chunkserver"], f"mfs {role}")
    client = containers["client"]
    engine.wait_until(lambda: registered_chunkservers(client) == len(CHUNKSERVERS), 30,
                      "all four chunkservers registered")
    engine.exec_checked(client, ["mfs-role", "client"], "mfs client")
    engine.wait_until(lambda: _mount_usable(client), 20, "MooseFS mount usable")
    return {"shell": client.name, "client": client.name, "master": containers["master"].name,
            "chunkservers": [containers[r].name for r in CHUNKSERVERS], "network": net_name,
            "mount": "/mnt/mfs"}


FLEET_DEFAULT_SIZE = 5


def start_fleet(cl: Any, prefix: str, size: int = FLEET_DEFAULT_SIZE, **_: Any) -> dict[str, Any]:
    """N small sshd hosts on 127.0.0.1 ports, with a lab key, known_hosts and an inventory."""
    if not 1 <= size <= 200:
        raise engine.LabError(f"fleet size must be between 1 and 200, not {size}")
    image = engine.build_image("fleet", cl)
    containers = []
    for index in range(1, size + 1):
        name = f"{prefix}-fleet-{index:02d}"
        containers.append(engine.run_container(
            cl, image, name, "fleet", hostname=f"host{index:02d}",
            cap_add=["NET_ADMIN"],  # iptables/tc faults inside the host's namespace
            ports={"22/tcp": ("127.0.0.1", None)},
        ))
    lines, hosts = [], []
    for index, container in enumerate(containers, 1):
        engine.wait_until(lambda c=container: _running(c), 20, f"{container.name} running")
        port, line = engine.ssh_access(container)
        lines.append(line)
        hosts.append((f"host{index:02d}", port))
    for _, port in hosts:
        engine.wait_for_sshd(port, f"port {port}")
    directory = engine.STATE_DIR / "lab" / prefix
    directory.mkdir(parents=True, exist_ok=True)
    known_hosts = directory / "known_hosts"
    known_hosts.write_text("\n".join(lines) + "\n")
    inventory = directory / "inventory.ini"
    body = ["# written by `invoke lab.up fleet`", "[fleet]"]
    body += [f"{name} ansible_host=127.0.0.1 ansible_port={port} ansible_user=root"
             for name, port in hosts]
    body += ["", "[odd]", *(n for n, _ in hosts[::2]), "", "[even]", *(n for n, _ in hosts[1::2])]
    inventory.write_text("\n".join(body) + "\n")
    return {"hosts": len(hosts), "inventory": str(inventory), "known_hosts": str(known_hosts),
            "identity": str(engine.lab_key()), "containers": [c.name for c in containers]}


def start_patching(cl: Any, prefix: str, **_: Any) -> dict[str, Any]:
    """One Debian host whose sshd and TLS service (openssl s_server) map libssl3's
    libraries, with libssl3's .deb in /var/cache/lab to reinstall it offline."""
    image = engine.build_image("patching", cl)
    name = f"{prefix}-patching"
    volumes = {}
    if (engine.REPO_ROOT / "tasks.py").is_file():  # run the runbooks from this checkout
        volumes[str(engine.REPO_ROOT)] = {"bind": "/src", "mode": "ro"}
    container = engine.run_container(
        cl, image, name, "patching", hostname="tls-host", volumes=volumes,
        ports={"22/tcp": ("127.0.0.1", None)},  # loopback only, a free port
    )
    engine.wait_until(lambda: _running(container) and bool(container.ports.get("22/tcp")), 20,
                      f"{name} running")
    # Readiness from outside (sshd's banner): an exec while the services start would
    # shift their process ids, which lab-services keeps the same in every lab (the
    # runbook page shows them).
    engine.wait_for_sshd(int(container.ports["22/tcp"][0]["HostPort"]), name)
    engine.exec_checked(container, ["service", "lab-tls", "status"], f"{name}: lab-tls")
    facts = {"shell": name, "container": name,
             "services": "ssh (sshd), lab-tls (openssl s_server on port 4433)",
             "reinstall": "dpkg -i /var/cache/lab/libssl3_*.deb"}
    facts.update(engine.enable_ssh(container))
    return facts


def _vm() -> Any:
    from . import vm

    return vm


def _bacula() -> Any:
    from . import bacula

    return bacula


def _repo_volume() -> dict[str, dict[str, str]]:
    if (engine.REPO_ROOT / "tasks.py").is_file():  # run the runbooks from this checkout
        return {str(engine.REPO_ROOT): {"bind": "/src", "mode": "ro"}}
    return {}


def start_toolchain(cl: Any, prefix: str, **_: Any) -> dict[str, Any]:
    """Two Debian hosts: `bare` without storage tools (parted's packages kept in
    /var/cache/lab to install offline), `full` with the toolchain lesson's main tools."""
    bare_image = engine.build_image("toolchain-bare", cl)
    full_image = engine.build_image("toolchain-full", cl)
    bare = engine.run_container(cl, bare_image, f"{prefix}-toolchain-bare", "toolchain",
                                hostname="bare", volumes=_repo_volume())
    full = engine.run_container(cl, full_image, f"{prefix}-toolchain-full", "toolchain",
                                hostname="storage")
    for container in (bare, full):
        engine.wait_until(lambda c=container: _running(c), 20, f"{container.name} running")
    return {"shell": bare.name, "bare": bare.name, "full": full.name,
            "install": "dpkg -i /var/cache/lab/*.deb"}


def start_rear(cl: Any, prefix: str, **_: Any) -> dict[str, Any]:
    """One Debian host with Relax-and-Recover 2.7, loop devices, and its layout saved."""
    image = engine.build_image("rear", cl)
    name = f"{prefix}-rear"
    container = engine.run_container(
        cl, image, name, "rear", hostname="rear-host",
        cap_add=["SYS_ADMIN"],  # mount(2) for added disks; --privileged is refused here
        devices=["/dev/loop-control:/dev/loop-control:rwm"],
        device_cgroup_rules=["b 7:* rwm"],  # loop block devices
        volumes=_repo_volume(),
    )
    engine.wait_until(lambda: _running(container), 20, f"{name} running")
    engine.exec_checked(container, ["rear-setup"], f"{name}: rear-setup")
    return {"shell": name, "container": name, "layout": "/var/lib/rear/layout/disklayout.conf"}


TOPOLOGIES: dict[str, Topology] = {
    t.name: t
    for t in (
        Topology(
            "nas",
            "ext4 on loop devices: /srv/nas with barrier=0,data=writeback, /srv/clean default",
            start_nas,
        ),
        Topology(
            "moosefs",
            "MooseFS 3.0.117: master, chunkservers cs1-cs4, FUSE client at /mnt/mfs",
            start_moosefs,
        ),
        Topology(
            "vm-lvm",
            "qemu VM (TCG) with Debian's kernel, lvm2 and four empty 1 GiB disks, SSH on "
            "a 127.0.0.1 port",
            lambda cl, prefix, **options: _vm().start_vm(prefix, **options),
        ),
        Topology(
            "bacula",
            "Bacula 9.6: director with SQLite catalog, storage daemon, file daemons fd1, fd2",
            lambda cl, prefix, **options: _bacula().start_bacula(cl, prefix, **options),
        ),
        Topology(
            "fleet",
            "N sshd hosts (--size, default 5) on 127.0.0.1 ports, Ubuntu-like pam_motd",
            start_fleet,
        ),
        Topology(
            "patching",
            "Debian host: sshd and an openssl s_server service on libssl3, its .deb kept "
            "to reinstall offline",
            start_patching,
        ),
        Topology(
            "toolchain",
            "Debian hosts without (bare) and with (full) the storage tools of the toolchain "
            "lesson",
            start_toolchain,
        ),
        Topology(
            "rear",
            "Debian host with Relax-and-Recover 2.7, its disk layout saved, loop devices",
            start_rear,
        ),
    )
}


def get(name: str) -> Topology:
    try:
        return TOPOLOGIES[name]
    except KeyError:
        raise engine.LabError(
            f"unknown topology {name!r}: choose one of {', '.join(sorted(TOPOLOGIES))}"
        ) from None


def up(name: str, prefix: str = "bp", **options: Any) -> dict[str, Any]:
    """Start topology ``name`` and return its facts once it is ready."""
    topology = get(name)
    cl = engine.client()
    start = time.monotonic()
    facts = topology.start(cl, prefix, **options)
    facts["seconds"] = round(time.monotonic() - start, 1)
    return facts


def down(name: str | None = None, everything: bool = False) -> int:
    """Remove the labs started by hand (``lab.up``) of topology ``name`` (all when None).

    Containers of running test suites and experiments are left alone unless
    ``everything``: they clean up after themselves.
    """
    if name is not None:
        get(name)
    cl = engine.client()
    containers = engine.lab_containers(cl, name)
    networks = engine.lab_networks(cl, name)
    if not everything:
        mine = engine.owner()
        containers = [c for c in containers if c.labels.get(engine.OWNER_LABEL) == mine]
        networks = [n for n in networks
                    if (n.attrs.get("Labels") or {}).get(engine.OWNER_LABEL) == mine]
    removed = engine.remove_containers(cl, containers)
    engine.remove_networks(cl, networks)
    if name in (None, "vm-lvm"):
        from . import vm

        for instance in vm.instances(owner=None if everything else engine.owner()):
            removed += vm.stop_instance(instance)
    return removed
