"""The nas lab: ext4 on loop devices, /srv/nas mounted like the NAS in the story."""

from __future__ import annotations

from typing import Any

from .. import engine
from ..faults import wrong_host_key
from .base import System

NAME = "nas"
HOSTNAME = "nas"


def mounted(container: Any, path: str) -> bool:
    """True when ``path`` is a mount point in the container."""
    code, _ = container.exec_run(["mountpoint", "-q", path])
    return code == 0


def start(cl: Any, prefix: str, **_: Any) -> dict[str, Any]:
    """One container with ext4 on loop devices: /srv/nas unsafe, /srv/clean default."""
    image = engine.build_image("nas", cl)
    name = f"{prefix}-nas"
    container = engine.run_container(
        cl, image, name, NAME,
        hostname=HOSTNAME,
        cap_add=["SYS_ADMIN"],  # mount(2); --privileged is refused in our sandbox
        devices=["/dev/loop-control:/dev/loop-control:rwm"],
        device_cgroup_rules=["b 7:* rwm"],  # loop block devices
        volumes=engine.repo_mount(),
        ports={"22/tcp": ("127.0.0.1", None)},  # loopback only, a free port
    )
    engine.wait_until(lambda: engine.running(container), 20, f"{name} running")
    engine.exec_checked(container, ["nas-setup"], f"{name}: nas-setup")
    engine.wait_until(lambda: mounted(container, "/srv/nas"), 20, f"{name} /srv/nas mounted")
    facts = {"shell": name, "container": name, "unsafe_mount": "/srv/nas",
             "clean_mount": "/srv/clean"}
    facts.update(engine.enable_ssh(container))
    return facts


SYSTEM = System(
    NAME,
    "ext4 on loop devices: /srv/nas with barrier=0,data=writeback, /srv/clean default",
    start,
    faults={HOSTNAME: wrong_host_key()},  # its sshd
)
