"""Upstream source archives for lab images that no Debian package carries.

An image folder may hold ``sources.txt``: one archive per line, ``FILE SHA256 URL``.
Before the image is built each archive is found, checked and put in its build
context. Where it is looked for, first match wins:

1. the folder named by ``BP_LAB_SOURCES`` (CI points it at the archives it is given);
2. the lab's download cache (``$BP_CACHE_DIR/sources``, default ~/.cache/breaking-point);
3. the pinned upstream address, downloaded into that cache when the machine is online.

Every archive must match its SHA-256 wherever it came from; a mismatch or a
missing archive stops the lab with one line that says where to put it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .common import LabError, log
from .common import cache_dir as lab_cache_dir

SOURCES_FILE = "sources.txt"
SOURCES_VARIABLE = "BP_LAB_SOURCES"
DOWNLOAD_TIMEOUT = 60.0


@dataclass(frozen=True)
class SourceArchive:
    """One pinned archive: its file name, SHA-256 and upstream address."""

    name: str
    sha256: str
    url: str


def read_sources(image_dir: Path) -> list[SourceArchive]:
    """The archives an image folder's sources.txt pins (none without the file)."""
    path = image_dir / SOURCES_FILE
    if not path.is_file():
        return []
    archives = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if len(words) != 3 or len(words[1]) != 64 or not words[2].startswith("https://"):
            raise LabError(f"{path}:{number}: expected FILE SHA256 https://URL, got {line!r}")
        archives.append(SourceArchive(*words))
    return archives


def cache_dir() -> Path:
    return lab_cache_dir() / "sources"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _candidates(archive: SourceArchive) -> list[Path]:
    places = [cache_dir() / archive.name]
    folder = os.environ.get(SOURCES_VARIABLE)
    if folder:
        places.insert(0, Path(folder) / archive.name)
    return places


def _download(archive: SourceArchive) -> Path | str:
    """The archive downloaded into the cache, or why it could not be."""
    target = cache_dir() / archive.name
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".part")
    log(f"downloading {archive.url}")
    try:
        # https only (read_sources), and the SHA-256 is checked before any use
        answer = urllib.request.urlopen(archive.url, timeout=DOWNLOAD_TIMEOUT)  # noqa: S310
        with answer, partial.open("wb") as out:
            shutil.copyfileobj(answer, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        return f"download failed ({getattr(exc, 'reason', None) or exc})"
    partial.replace(target)
    return target


def _checked(path: Path, archive: SourceArchive) -> Path:
    found = sha256_of(path)
    if found != archive.sha256:
        raise LabError(f"{path}: SHA-256 {found} is not the pinned {archive.sha256}; "
                       f"remove it or put the right {archive.name} there")
    return path


def fetch(archive: SourceArchive) -> Path:
    """The checked archive on this machine (see the module for where it is looked for)."""
    for path in _candidates(archive):
        if path.is_file():
            return _checked(path, archive)
    got = _download(archive)
    if isinstance(got, Path):
        return _checked(got, archive)
    raise LabError(f"source archive {archive.name} not found: put it in ${SOURCES_VARIABLE} "
                   f"or {cache_dir()} (SHA-256 {archive.sha256}); {got}")


def stage(image_dir: Path, context: Path) -> None:
    """Copy every archive the image pins into its build context."""
    for archive in read_sources(image_dir):
        shutil.copy2(fetch(archive), context / archive.name)
