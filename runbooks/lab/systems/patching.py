"""The patching lab: a Debian host whose services map libssl3, its .deb kept to reinstall."""

from __future__ import annotations

from typing import Any

from .. import engine
from ..faults import wrong_host_key
from .base import System

NAME = "patching"
HOSTNAME = "tls-host"


def start(cl: Any, prefix: str, **_: Any) -> dict[str, Any]:
    """One Debian host whose sshd and TLS service (openssl s_server) map libssl3's
    libraries, with libssl3's .deb in /var/cache/lab to reinstall it offline."""
    image = engine.build_image("patching", cl)
    name = f"{prefix}-patching"
    container = engine.run_container(
        cl, image, name, NAME, hostname=HOSTNAME, volumes=engine.repo_mount(),
        ports={"22/tcp": ("127.0.0.1", None)},  # loopback only, a free port
    )
    engine.wait_until(lambda: engine.running(container) and bool(container.ports.get("22/tcp")),
                      20, f"{name} running")
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


SYSTEM = System(
    NAME,
    "Debian host: sshd and an openssl s_server service on libssl3, its .deb kept "
    "to reinstall offline",
    start,
    faults={HOSTNAME: wrong_host_key()},  # its sshd
)
