"""Front-end files the site needs but does not keep in git, fetched like any dependency.

Material's offline plugin points the page at iframe-worker's shim on unpkg.com
(search from ``file://`` needs it). The site must make no request to another
host, so the shim is taken from the npm registry once, checked against the
registry's integrity hash, and served from the site itself.
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path

IFRAME_WORKER = {
    "url": "https://registry.npmjs.org/iframe-worker/-/iframe-worker-1.0.4.tgz",
    "integrity": "sha512-roeaaI+Lg1LJNfgpCjoRe/+WzEjy9+Z08LoEvu85MCPbBjwm+qXz8Ag5U05lHa6V1Cys"
                 "ZyGzE0SOkAtSUA5q7Q==",
    "files": {"package/shim/index.js": "shim.js", "package/LICENSE": "LICENSE"},
}
VENDOR_DIR = Path("assets") / "vendor" / "iframe-worker"   # under docs/


class VendorError(Exception):
    pass


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def ensure_iframe_worker(docs_dir: Path) -> Path:
    """The shim's path under ``docs_dir``, downloading and verifying it if absent."""
    target = docs_dir / VENDOR_DIR
    if all((target / name).exists() for name in IFRAME_WORKER["files"].values()):
        return target / "shim.js"
    try:
        with urllib.request.urlopen(IFRAME_WORKER["url"], timeout=30) as response:  # noqa: S310
            data = response.read()
    except OSError as exc:
        raise VendorError(f"cannot download {IFRAME_WORKER['url']}: {exc}") from None
    if _integrity(data) != IFRAME_WORKER["integrity"]:
        raise VendorError(f"{IFRAME_WORKER['url']}: integrity check failed")
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member, name in IFRAME_WORKER["files"].items():
            extracted = tar.extractfile(member)
            if extracted is None:
                raise VendorError(f"{IFRAME_WORKER['url']}: no {member} in the package")
            (target / name).write_bytes(extracted.read())
    return target / "shim.js"


def main() -> int:
    docs = Path(__file__).resolve().parents[2] / "docs"
    try:
        print(f"vendor: {ensure_iframe_worker(docs).relative_to(docs.parent)}", file=sys.stderr)
    except VendorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
