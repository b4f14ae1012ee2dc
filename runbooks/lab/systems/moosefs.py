"""The moosefs lab: MooseFS 3.0 master, metalogger, four chunkservers and a FUSE client."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import engine
from ..faults import (
    Daemon,
    Fault,
    daemon_faults,
    fill_disk,
    network_faults,
    restart_daemon,
    sh,
    stop_daemon,
)
from .base import System

NAME = "moosefs"
CHUNKSERVERS = ("cs1", "cs2", "cs3", "cs4")
MFS_ROLES = ("master", "metalogger", *CHUNKSERVERS, "client")
CHUNK_VOLUME = "/mfsdata"
MASTER = Daemon("mfsmaster", ("mfsmaster", "stop"), ("mfs-role", "master"))
CHUNKSERVER = Daemon("mfschunkserver", ("mfschunkserver", "stop"), ("mfs-role", "chunkserver"))


@dataclass(frozen=True)
class Flavour:
    """What differs between the MooseFS-like lab systems (moosefs, moosefs4, lizardfs)."""

    name: str
    image: str
    node_prefix: str  # containers are PREFIX-NODE_PREFIX-NODE, e.g. bp-mfs-cs1
    nodes: tuple[str, ...]
    registered: Callable[[Any], int]  # chunkservers ready, read on the client

    def container(self, prefix: str, node: str) -> str:
        """The container of a node (master, cs1..cs4, client, ...) in the lab ``prefix``."""
        return f"{prefix}-{self.node_prefix}-{node}"

    def container_name(self, prefix: str, node: str) -> str | None:
        """For `lab.fault NODE`: the container of one of this system's node names."""
        return self.container(prefix, node) if node in self.nodes else None


def role(hostname: str) -> str:
    """master, metalogger, chunkserver or client."""
    if hostname in ("master", "metalogger"):
        return hostname
    return "chunkserver" if hostname.startswith("cs") else "client"


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


def _options(node: str, net_name: str, shell: str = "client") -> dict[str, Any]:
    options: dict[str, Any] = {
        "hostname": node, "network": net_name,
        "cap_add": ["NET_ADMIN"],  # iptables/tc faults inside the node's namespace
    }
    if node.startswith("cs"):
        # Chunk storage: a size-limited tmpfs that the disk-full fault can fill.
        options["tmpfs"] = {CHUNK_VOLUME: "size=1g"}
    if node in ("client", shell):  # the shell node runs the runbooks and may mount too
        options["cap_add"] = ["NET_ADMIN", "SYS_ADMIN"]
        options["devices"] = ["/dev/fuse:/dev/fuse:rwm"]
        options["volumes"] = engine.repo_mount()
    return options


def start_cluster(flavour: Flavour, cl: Any, prefix: str, shell: str = "client") -> dict[str, Any]:
    """Master, chunkservers (and a metalogger where the flavour has one) and a FUSE client.

    ``shell``: the node whose container runs a page's commands (default the client; a
    page about the metalogger takes ``lab_options: {shell: metalogger}``).
    """
    if shell not in flavour.nodes:
        raise engine.LabError(f"{flavour.name} has no node {shell!r} for the shell")
    image = engine.build_image(flavour.image, cl)
    net_name = f"{prefix}-{flavour.node_prefix}"
    engine.network(cl, net_name, flavour.name)
    containers = {node: engine.run_container(cl, image, flavour.container(prefix, node),
                                             flavour.name, **_options(node, net_name, shell))
                  for node in flavour.nodes}
    servers = [n for n in flavour.nodes if n not in ("client",)]
    for node in servers:
        engine.exec_checked(containers[node], ["mfs-role", role(node)], f"{flavour.name} {node}")
    client = containers["client"]
    engine.wait_until(lambda: flavour.registered(client) == len(CHUNKSERVERS), 30,
                      "all four chunkservers registered")
    engine.exec_checked(client, ["mfs-role", "client"], f"{flavour.name} client")
    engine.wait_until(lambda: _mount_usable(client), 20, "the mount usable")
    facts = {"shell": containers[shell].name, "client": client.name,
             "master": containers["master"].name,
             "chunkservers": [containers[r].name for r in CHUNKSERVERS], "network": net_name,
             "mount": "/mnt/mfs"}
    if "metalogger" in containers:
        facts["metalogger"] = containers["metalogger"].name
    return facts


MOOSEFS = Flavour(NAME, "moosefs", "mfs", MFS_ROLES, registered_chunkservers)


def mfs_container(prefix: str, node: str) -> str:
    """The container of a node (master, metalogger, cs1..cs4, client) in the moosefs lab."""
    return MOOSEFS.container(prefix, node)


def _hide_chunks(container: Any, chunkserver: Daemon, owner: str) -> None:
    stop_daemon(container, chunkserver)
    # owner is a constant of the system (mfs, lizardfs), never user input
    sh(container, "mv /mfsdata/chunks /mfsdata/hidden && mkdir /mfsdata/chunks && "
                  f"chown {owner}:{owner} /mfsdata/chunks", f"{container.name}: hide chunks")
    restart_daemon(container, chunkserver)


def _unhide_chunks(container: Any, chunkserver: Daemon) -> None:
    stop_daemon(container, chunkserver)
    sh(container, "rm -rf /mfsdata/chunks && mv /mfsdata/hidden /mfsdata/chunks",
       f"{container.name}: restore chunks")
    restart_daemon(container, chunkserver)


def lose_chunks(chunkserver: Daemon, owner: str) -> Fault:
    """Restart a chunkserver on an empty chunk folder (the old one kept aside for heal)."""
    return Fault("restart with an empty chunk folder, as after a disk replacement "
                 "(the old one is kept aside for heal)",
                 lambda c: _hide_chunks(c, chunkserver, owner),
                 lambda c: _unhide_chunks(c, chunkserver))


def cluster_faults(master: Daemon, chunkserver: Daemon,
                   owner: str = "mfs") -> dict[str, dict[str, Fault]]:
    """What `lab.fault` may do to each role of a MooseFS-like cluster."""
    return {
        "master": {**daemon_faults(master), **network_faults()},
        "metalogger": network_faults(),
        "chunkserver": {**daemon_faults(chunkserver), **network_faults(),
                        **fill_disk(CHUNK_VOLUME), "lose-chunks": lose_chunks(chunkserver, owner)},
        "client": network_faults(),
    }


def cluster_system(flavour: Flavour, describe: str, owner: str = "mfs") -> System:
    """The lab system of a MooseFS-like flavour: its start, node names, roles and faults.

    ``owner`` is the user the chunkserver runs as (it owns the chunk folder).
    """
    def start_flavour(cl: Any, prefix: str, shell: str = "client", **_: Any) -> dict[str, Any]:
        return start_cluster(flavour, cl, prefix, shell)

    start_flavour.__doc__ = f"Start the {flavour.name} lab: {describe}."
    return System(flavour.name, describe, start_flavour, node=flavour.container_name,
                  role=role, faults=cluster_faults(MASTER, CHUNKSERVER, owner))


SYSTEM = cluster_system(MOOSEFS, "MooseFS 3.0.117: master, metalogger, chunkservers cs1-cs4, "
                                 "FUSE client at /mnt/mfs")
