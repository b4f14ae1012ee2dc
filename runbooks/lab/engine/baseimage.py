"""The ``debian:bookworm`` base image, built with debootstrap from the host's mirror."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import LabError, log, machine_lock, run
from .daemon import apt_install, client

BASE_IMAGE = "debian:bookworm"


def debian_mirror() -> str:
    """The Debian mirror this host's apt uses (so the repo names no mirror itself)."""
    if os.environ.get("BP_DEBIAN_MIRROR"):
        return os.environ["BP_DEBIAN_MIRROR"]
    candidates: list[str] = []
    sources = Path("/etc/apt/sources.list.d")
    for path in sorted(sources.glob("*.sources")) if sources.is_dir() else []:
        for block in path.read_text(errors="replace").split("\n\n"):
            fields = dict(
                (k.strip().lower(), v.strip())
                for k, _, v in (line.partition(":") for line in block.splitlines())
                if not k.startswith(("#", " "))
            )
            suites = fields.get("suites", "").split()
            if "bookworm" in suites and fields.get("enabled", "yes") != "no":
                candidates += fields.get("uris", "").split()
    legacy = Path("/etc/apt/sources.list")
    if legacy.is_file():
        for line in legacy.read_text(errors="replace").splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "deb" and parts[2] == "bookworm":
                candidates.append(parts[1])
    for uri in candidates:
        if "security" not in uri and uri.startswith(("http://", "https://")):
            return uri
    raise LabError("no Debian bookworm mirror in this host's apt sources; set BP_DEBIAN_MIRROR")


def image_exists(cl: Any, ref: str) -> bool:
    """True when the engine has image ``ref``."""
    from docker.errors import ImageNotFound

    try:
        cl.images.get(ref)
    except ImageNotFound:
        return False
    return True


def ensure_base_image(cl: Any | None = None) -> None:
    """Make ``debian:bookworm`` with debootstrap + import when it is absent (no registry here)."""
    cl = cl or client()
    if image_exists(cl, BASE_IMAGE):
        return
    with machine_lock("image-debian-bookworm"):
        if not image_exists(cl, BASE_IMAGE):
            _debootstrap_base(cl)


def _debootstrap_base(cl: Any) -> None:
    if not shutil.which("debootstrap"):
        apt_install(["debootstrap"])
    mirror = debian_mirror()
    with tempfile.TemporaryDirectory(prefix="bp-rootfs-") as rootfs:
        log(f"building {BASE_IMAGE} with debootstrap (about a minute)")
        start = time.monotonic()
        run(["debootstrap", "--variant=minbase", "bookworm", rootfs, mirror], "debootstrap")
        log(f"debootstrap done in {time.monotonic() - start:.0f}s; importing")
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        assert tar.stdout is not None
        cl.api.import_image_from_stream(tar.stdout, repository="debian", tag="bookworm")
        if tar.wait() != 0:
            raise LabError("tar of the debootstrap tree failed")
    if not image_exists(cl, BASE_IMAGE):
        raise LabError(f"{BASE_IMAGE} import did not produce an image")
    log(f"{BASE_IMAGE} ready")
