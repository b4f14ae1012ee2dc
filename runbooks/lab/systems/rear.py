"""The rear lab: a Debian host with Relax-and-Recover and its disk layout saved."""

from __future__ import annotations

from typing import Any

from .. import engine
from .base import System

NAME = "rear"


def start(cl: Any, prefix: str, **_: Any) -> dict[str, Any]:
    """One Debian host with Relax-and-Recover 2.7, loop devices, and its layout saved."""
    image = engine.build_image("rear", cl)
    name = f"{prefix}-rear"
    container = engine.run_container(
        cl, image, name, NAME, hostname="rear-host",
        cap_add=["SYS_ADMIN"],  # mount(2) for added disks; --privileged is refused here
        devices=["/dev/loop-control:/dev/loop-control:rwm"],
        device_cgroup_rules=["b 7:* rwm"],  # loop block devices
        volumes=engine.repo_mount(),
    )
    engine.wait_until(lambda: engine.running(container), 20, f"{name} running")
    engine.exec_checked(container, ["rear-setup"], f"{name}: rear-setup")
    return {"shell": name, "container": name, "layout": "/var/lib/rear/layout/disklayout.conf"}


SYSTEM = System(
    NAME,
    "Debian host with Relax-and-Recover 2.7, its disk layout saved, loop devices",
    start,
)
