"""Front-end files the site needs but does not keep in git, fetched like any dependency.

The site must make no request to another host, so every such file is taken
from the npm registry once, checked against the registry's integrity hash, and
served from the site itself (docs/assets/vendor/, ignored by git):

- iframe-worker's shim: Material's offline plugin points the page at it on
  unpkg.com (search from ``file://`` needs it).
- Mermaid: Material renders ``mermaid`` code blocks with it, and loads it from
  unpkg.com unless the page already has it (mkdocs.yml's extra_javascript).
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Package:
    name: str
    url: str
    integrity: str  # the registry's dist.integrity
    files: dict[str, str]  # member of the package -> file name in its vendor folder

    @property
    def folder(self) -> Path:
        return Path("assets") / "vendor" / self.name  # under docs/


IFRAME_WORKER = Package(
    "iframe-worker", "https://registry.npmjs.org/iframe-worker/-/iframe-worker-1.0.4.tgz",
    "sha512-roeaaI+Lg1LJNfgpCjoRe/+WzEjy9+Z08LoEvu85MCPbBjwm+qXz8Ag5U05lHa6V1Cys"
    "ZyGzE0SOkAtSUA5q7Q==",
    {"package/shim/index.js": "shim.js", "package/LICENSE": "LICENSE"})
# Material 9 asks for mermaid@11 (its diagram styles are made for that major version).
MERMAID = Package(
    "mermaid", "https://registry.npmjs.org/mermaid/-/mermaid-11.17.2.tgz",
    "sha512-V6K3C8EBdEsPFZXSKMJe6ppQOENxuHARr9GvHX4hh47lAbhMRD9qf4oEK7LoaRQxULMa80/qt5gHO"
    "73aCleBBg==",
    {"package/dist/mermaid.min.js": "mermaid.min.js", "package/LICENSE": "LICENSE"})
PACKAGES = (IFRAME_WORKER, MERMAID)


class VendorError(Exception):
    pass


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def ensure(package: Package, docs_dir: Path) -> Path:
    """The package's folder under ``docs_dir``, downloading and verifying it if absent."""
    target = docs_dir / package.folder
    if all((target / name).exists() for name in package.files.values()):
        return target
    try:
        with urllib.request.urlopen(package.url, timeout=60) as response:  # noqa: S310
            data = response.read()
    except OSError as exc:
        raise VendorError(f"cannot download {package.url}: {exc}") from None
    if _integrity(data) != package.integrity:
        raise VendorError(f"{package.url}: integrity check failed")
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member, name in package.files.items():
            extracted = tar.extractfile(member)
            if extracted is None:
                raise VendorError(f"{package.url}: no {member} in the package")
            (target / name).write_bytes(extracted.read())
    return target


def ensure_iframe_worker(docs_dir: Path) -> Path:
    """Every vendored package (the shim first); the shim's path, as before."""
    for package in PACKAGES:
        ensure(package, docs_dir)
    return docs_dir / IFRAME_WORKER.folder / "shim.js"


def main() -> int:
    docs = Path(__file__).resolve().parents[2] / "docs"
    try:
        for package in PACKAGES:
            print(f"vendor: {ensure(package, docs).relative_to(docs.parent)}", file=sys.stderr)
    except VendorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
