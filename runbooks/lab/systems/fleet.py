"""The fleet lab: N small sshd hosts set up like Ubuntu servers, with an inventory."""

from __future__ import annotations

from typing import Any

from .. import engine
from ..faults import Daemon, Fault, daemon_faults, network_faults, sh, wrong_host_key
from .base import System

NAME = "fleet"
DEFAULT_SIZE = 5
SSHD = Daemon("sshd", ("pkill", "-TERM", "-x", "sshd"), ("/usr/sbin/sshd",))


# chmod fails on the host as on a read-only /etc (root ignores modes and a container
# may not mount, so the real chmod is set aside and a failing one takes its place).
_CHMOD_FAILS = r"""
mv /usr/bin/chmod /usr/bin/chmod.bp-real
printf '%s\n' '#!/bin/sh' 'for f; do :; done' \
    'echo "chmod: changing permissions of '"'"'$f'"'"': Read-only file system" >&2' 'exit 1' \
    > /usr/bin/chmod
/usr/bin/chmod.bp-real 755 /usr/bin/chmod
"""
CHMOD_FAILS = {"chmod-fails": Fault(
    "make every chmod fail, as on a read-only /etc (the real chmod is kept aside)",
    lambda c: sh(c, _CHMOD_FAILS, f"{c.name}: chmod fails"),
    lambda c: sh(c, "mv /usr/bin/chmod.bp-real /usr/bin/chmod", f"{c.name}: chmod back"))}


def container_name(prefix: str, node: str) -> str | None:
    """host01 -> PREFIX-fleet-01."""
    return f"{prefix}-fleet-{node[len('host'):]}" if node.startswith("host") else None


def role(hostname: str) -> str:
    """Every fleet host is an sshd host."""
    return "ssh"


def _inventory(directory: Any, hosts: list[tuple[str, int]]) -> Any:
    inventory = directory / "inventory.ini"
    body = ["# written by `invoke lab.up fleet`", "[fleet]"]
    body += [f"{name} ansible_host=127.0.0.1 ansible_port={port} ansible_user=root"
             for name, port in hosts]
    body += ["", "[odd]", *(n for n, _ in hosts[::2]), "", "[even]", *(n for n, _ in hosts[1::2])]
    inventory.write_text("\n".join(body) + "\n")
    return inventory


def start(cl: Any, prefix: str, size: int = DEFAULT_SIZE, **_: Any) -> dict[str, Any]:
    """N small sshd hosts on 127.0.0.1 ports, with a lab key, known_hosts and an inventory."""
    if not 1 <= size <= 200:
        raise engine.LabError(f"fleet size must be between 1 and 200, not {size}")
    image = engine.build_image("fleet", cl)
    containers = []
    for index in range(1, size + 1):
        name = f"{prefix}-fleet-{index:02d}"
        containers.append(engine.run_container(
            cl, image, name, NAME, hostname=f"host{index:02d}",
            cap_add=["NET_ADMIN"],  # iptables/tc faults inside the host's namespace
            ports={"22/tcp": ("127.0.0.1", None)},
        ))
    lines, hosts = [], []
    for index, container in enumerate(containers, 1):
        engine.wait_until(lambda c=container: engine.running(c), 20, f"{container.name} running")
        port, line = engine.ssh_access(container)
        lines.append(line)
        hosts.append((f"host{index:02d}", port))
    for _, port in hosts:
        engine.wait_for_sshd(port, f"port {port}")
    directory = engine.STATE_DIR / "lab" / prefix
    directory.mkdir(parents=True, exist_ok=True)
    known_hosts = directory / "known_hosts"
    known_hosts.write_text("\n".join(lines) + "\n")
    inventory = _inventory(directory, hosts)
    return {"hosts": len(hosts), "inventory": str(inventory), "known_hosts": str(known_hosts),
            "identity": str(engine.lab_key()), "containers": [c.name for c in containers]}


SYSTEM = System(
    NAME,
    "N sshd hosts (--size, default 5) on 127.0.0.1 ports, Ubuntu-like pam_motd",
    start,
    node=container_name,
    role=role,
    faults={"ssh": {**daemon_faults(SSHD), **network_faults(), **wrong_host_key(),
                    **CHMOD_FAILS}},
)
