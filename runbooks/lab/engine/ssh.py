"""SSH into lab nodes: the lab's client key, authorised keys, host keys, sshd readiness."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .common import STATE_DIR, wait_until
from .containers import exec_checked, put_file


def lab_key() -> Path:
    """The lab's SSH client key (ed25519), made on first use; returns the private key path."""
    key = STATE_DIR / "lab" / "id_ed25519"
    if not key.exists():
        import asyncssh  # lazy

        key.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        private = asyncssh.generate_private_key("ssh-ed25519", comment="breaking-point-lab")
        private.write_private_key(str(key))
        key.chmod(0o600)
        private.write_public_key(str(key) + ".pub")
    return key


def ssh_banner(port: int) -> bool:
    """True when an SSH server answers with its banner on a 127.0.0.1 port."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
        return conn.recv(64).startswith(b"SSH-2.0-")


def ssh_access(container: Any) -> tuple[int, str]:
    """Authorise the lab key for root in the container; return its loopback port and the
    known_hosts line for its ed25519 host key (port 22 must be published on 127.0.0.1)."""
    key = lab_key()
    put_file(container, "/root/.ssh", "authorized_keys",
             Path(str(key) + ".pub").read_bytes(), 0o600)
    container.reload()
    port = int(container.ports["22/tcp"][0]["HostPort"])
    wait_until(lambda: exec_checked(container, ["test", "-s", "/etc/ssh/ssh_host_ed25519_key.pub"],
                                    "host key") is not None, 20, f"{container.name} host key")
    host_key = exec_checked(container, ["cat", "/etc/ssh/ssh_host_ed25519_key.pub"],
                            f"{container.name}: host key")
    key_type, key_data = host_key.split()[:2]
    return port, f"[127.0.0.1]:{port} {key_type} {key_data}"


def wait_for_sshd(port: int, what: str) -> None:
    """Wait until sshd answers on a 127.0.0.1 port."""
    wait_until(lambda: ssh_banner(port), 20, f"{what} sshd")


def enable_ssh(container: Any) -> dict[str, str]:
    """SSH into one lab container: key authorised, host key trusted, sshd answering."""
    port, line = ssh_access(container)
    known_hosts = STATE_DIR / "lab" / f"known_hosts-{container.name}"
    known_hosts.write_text(line + "\n")
    wait_for_sshd(port, container.name)
    return {"ssh": f"root@127.0.0.1:{port}", "identity": str(lab_key()),
            "known_hosts": str(known_hosts)}
