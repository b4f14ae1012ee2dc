"""The toolchain lab: Debian hosts without and with the storage tools."""

from __future__ import annotations

from typing import Any

from .. import engine
from .base import System

NAME = "toolchain"


def start(cl: Any, prefix: str, **_: Any) -> dict[str, Any]:
    """Two Debian hosts: `bare` without storage tools (parted's packages kept in
    /var/cache/lab to install offline), `full` with the toolchain lesson's main tools."""
    bare_image = engine.build_image("toolchain-bare", cl)
    full_image = engine.build_image("toolchain-full", cl)
    bare = engine.run_container(cl, bare_image, f"{prefix}-toolchain-bare", NAME,
                                hostname="bare", volumes=engine.repo_mount())
    full = engine.run_container(cl, full_image, f"{prefix}-toolchain-full", NAME,
                                hostname="storage")
    for container in (bare, full):
        engine.wait_until(lambda c=container: engine.running(c), 20, f"{container.name} running")
    return {"shell": bare.name, "bare": bare.name, "full": full.name,
            "install": "dpkg -i /var/cache/lab/*.deb"}


SYSTEM = System(
    NAME,
    "Debian hosts without (bare) and with (full) the storage tools of the toolchain lesson",
    start,
)
