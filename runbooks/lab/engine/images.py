"""Lab images: built from the Dockerfiles in runbooks/lab/images/, tagged by content.

The images that run the runbooks start from images/base (Python and the runtime
packages): their Dockerfile declares the build argument ``BP_LAB_BASE`` and
starts FROM it, and the base's tag is part of their digest.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from . import sources
from .baseimage import ensure_base_image, image_exists
from .common import LabError, cache_dir, log, machine_lock, run
from .containers import LABEL
from .daemon import client

IMAGE_PREFIX = "bp-lab"
IMAGES_DIR = Path(__file__).resolve().parents[1] / "images"
LAB_BASE_IMAGE = "base"
LAB_BASE_ARG = "BP_LAB_BASE"
# Python packages the lab containers need to run the runbooks from the mounted repo.
# Pure-Python wheels only, so the host's architecture does not matter.
CONTAINER_PYTHON_PACKAGES = ("invoke", "rich", "markdown-it-py", "mdurl", "pygments")


def _wheel_cache() -> Path:
    return cache_dir() / "wheels"


def _pinned_requirements() -> list[str]:
    pins = []
    for name in CONTAINER_PYTHON_PACKAGES:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pins.append(name)
    return pins


def download_wheels(dest: Path) -> None:
    """Fetch the container's Python wheels on the host (same versions as here)."""
    pins = _pinned_requirements()
    cache = _wheel_cache()
    stamp = cache / ("stamp-" + hashlib.sha256(" ".join(pins).encode()).hexdigest()[:12])
    with machine_lock("wheels"):
        _download_pins(pins, cache, stamp)
    dest.mkdir(parents=True, exist_ok=True)
    for wheel in cache.glob("*.whl"):
        shutil.copy2(wheel, dest / wheel.name)
    (dest / "requirements.txt").write_text("\n".join(pins) + "\n")


def _download_pins(pins: list[str], cache: Path, stamp: Path) -> None:
    if not stamp.exists():
        log(f"downloading wheels: {' '.join(pins)}")
        cache.mkdir(parents=True, exist_ok=True)
        run(
            [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:",
             "--no-deps", "-d", str(cache), *pins],
            "pip download",
        )
        stamp.touch()


def _context_digest(directory: Path, base: str = "") -> str:
    """Hash of an image's build context, its wheels and the base image tag it starts from."""
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(directory)).encode())
            digest.update(path.read_bytes())
    digest.update(" ".join(_pinned_requirements()).encode())
    if base:  # the base's tag is its own content hash: a new base makes a new dependant
        digest.update(base.encode())
    return digest.hexdigest()[:12]


def _lab_base(dockerfile: str, cl: Any) -> dict[str, str]:
    """Build arguments: the shared lab base's tag, for a Dockerfile that starts from it."""
    if not re.search(rf"^ARG {LAB_BASE_ARG}$", dockerfile, re.MULTILINE):
        return {}
    return {LAB_BASE_ARG: build_image(LAB_BASE_IMAGE, cl)}


def build_image(name: str, cl: Any | None = None) -> str:
    """Build lab image ``name`` from runbooks/lab/images/NAME unless it is up to date."""
    cl = cl or client()
    source = IMAGES_DIR / name
    if not (source / "Dockerfile").is_file():
        raise LabError(f"no lab image named {name!r} (looked in {source})")
    dockerfile = (source / "Dockerfile").read_text()
    buildargs = _lab_base(dockerfile, cl)
    tag = f"{IMAGE_PREFIX}/{name}:{_context_digest(source, buildargs.get(LAB_BASE_ARG, ''))}"
    if image_exists(cl, tag):
        return tag
    with machine_lock(f"image-{name}"):
        if not image_exists(cl, tag):  # another process may have built it meanwhile
            _build(name, tag, source, dockerfile, buildargs, cl)
    return tag


# Images compiled from upstream source: tens of minutes on 2 cores, so they build
# side by side with the packaged ones (which mostly wait on apt).
SOURCE_BUILT = ("lizardfs", "moosefs4")


def image_names() -> list[str]:
    """Every lab image there is a Dockerfile for, the shared base first."""
    names = sorted(p.parent.name for p in IMAGES_DIR.glob("*/Dockerfile"))
    return sorted(names, key=lambda name: name != LAB_BASE_IMAGE)


def build_images(names: list[str] | None = None) -> dict[str, str]:
    """Build the named lab images (default: all) that are not up to date; their tags.

    The source builds run in one thread and the packaged images in another, each
    with a client of its own, after the base that both start from.
    """
    from concurrent.futures import ThreadPoolExecutor

    names = names or image_names()
    unknown = [n for n in names if not (IMAGES_DIR / n / "Dockerfile").is_file()]
    if unknown:
        raise LabError(f"no lab image named {unknown[0]!r}: choose from "
                       f"{', '.join(image_names())}")
    tags = {LAB_BASE_IMAGE: build_image(LAB_BASE_IMAGE)}  # what most images start FROM
    queues = [[n for n in names if n in SOURCE_BUILT],
              [n for n in names if n not in SOURCE_BUILT and n != LAB_BASE_IMAGE]]

    def build_queue(queue: list[str]) -> dict[str, str]:
        cl = client()
        return {name: build_image(name, cl) for name in queue}

    with ThreadPoolExecutor(max_workers=2) as pool:
        for built in pool.map(build_queue, [q for q in queues if q]):
            tags.update(built)
    return {name: tags[name] for name in names}


def _build(name: str, tag: str, source: Path, dockerfile: str, buildargs: dict[str, str],
           cl: Any) -> None:
    ensure_base_image(cl)
    with tempfile.TemporaryDirectory(prefix="bp-build-") as ctx:
        shutil.copytree(source, ctx, dirs_exist_ok=True)
        if "COPY wheels" in dockerfile:
            download_wheels(Path(ctx) / "wheels")
        sources.stage(source, Path(ctx))
        log(f"building image {tag}")
        start = time.monotonic()
        for chunk in cl.api.build(path=ctx, tag=tag, rm=True, forcerm=True, decode=True,
                                  labels={LABEL: name}, buildargs=buildargs):
            if "error" in chunk:
                raise LabError(f"image {name}: {chunk['error'].strip()}")
            line = chunk.get("stream", "").strip()
            if line.startswith("Step "):
                log(f"  {line}")
        log(f"image {tag} built in {time.monotonic() - start:.0f}s")
