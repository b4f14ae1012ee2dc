"""Source archives for lab images: pinned by SHA-256, found, checked, or one clear line.

No network: a missing archive's download goes to a closed port on loopback.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from runbooks.lab.engine import sources
from runbooks.lab.engine.common import LabError
from runbooks.lab.engine.images import IMAGES_DIR

CLOSED = "https://127.0.0.1:9/none.tar.gz"  # discard port: nothing listens here


def _pin(tmp_path: Path, data: bytes, name: str = "x-1.0.tar.gz", url: str = CLOSED) -> Path:
    image = tmp_path / "image"
    image.mkdir()
    (image / sources.SOURCES_FILE).write_text(
        f"# comment\n{name} {hashlib.sha256(data).hexdigest()} {url}\n")
    return image


@pytest.fixture(autouse=True)
def _places(tmp_path, monkeypatch):
    monkeypatch.setenv("BP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv(sources.SOURCES_VARIABLE, str(tmp_path / "given"))
    (tmp_path / "given").mkdir()


def test_the_lab_images_pin_the_archives_of_the_project(tmp_path):
    pinned = {a.name: a.sha256 for d in ("moosefs4", "lizardfs")
              for a in sources.read_sources(IMAGES_DIR / d)}
    assert pinned == {
        "moosefs-4.59.2.tar.gz":
            "cebab3e16e81e36a858f31a7ee834e2432d3cf468a381c8d8f7e9583062b7eb6",
        "lizardfs-b1e97f97.tar.gz":
            "a6d4bfa496d28caa577ed98287d8e903cefb96b47e193a1cf3d7b9be7956fdc9",
    }


def test_an_archive_in_the_given_folder_is_checked_and_staged(tmp_path):
    image = _pin(tmp_path, b"source tree")
    (tmp_path / "given" / "x-1.0.tar.gz").write_bytes(b"source tree")
    context = tmp_path / "context"
    context.mkdir()
    sources.stage(image, context)
    assert (context / "x-1.0.tar.gz").read_bytes() == b"source tree"


def test_a_wrong_archive_is_refused_in_one_line(tmp_path):
    image = _pin(tmp_path, b"source tree")
    (tmp_path / "given" / "x-1.0.tar.gz").write_bytes(b"something else")
    with pytest.raises(LabError) as caught:
        sources.stage(image, tmp_path)
    message = str(caught.value)
    assert "\n" not in message and "is not the pinned" in message
    assert hashlib.sha256(b"something else").hexdigest() in message


def test_a_missing_archive_says_where_to_put_it(tmp_path):
    image = _pin(tmp_path, b"source tree")
    with pytest.raises(LabError) as caught:
        sources.stage(image, tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("source archive x-1.0.tar.gz not found: put it in "
                              f"${sources.SOURCES_VARIABLE} or {tmp_path / 'cache' / 'sources'}")
    assert "download failed" in message
    assert not list((tmp_path / "cache" / "sources").glob("*"))  # no partial file left


@pytest.mark.parametrize("line", [
    "x.tar.gz abc https://example.invalid/x.tar.gz",
    f"x.tar.gz {'0' * 64} http://example.invalid/x.tar.gz",
    f"x.tar.gz {'0' * 64}",
])
def test_a_bad_pin_line_is_an_error_naming_the_line(tmp_path, line):
    image = tmp_path / "image"
    image.mkdir()
    (image / sources.SOURCES_FILE).write_text(line + "\n")
    with pytest.raises(LabError, match=r"sources.txt:1: expected FILE SHA256 https://URL"):
        sources.read_sources(image)
