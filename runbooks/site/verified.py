"""Verified badges: when each page's executed blocks last passed, and against what.

The test run writes ``docs/data/verified.json`` (tests/doc_plugin.py); the site
build reads it and puts a badge under each page's title. A page with executed
blocks but no passing record says so plainly.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any

VERIFIED_FILE = Path("data") / "verified.json"   # relative to docs/


def load(docs_dir: Path) -> dict[str, Any]:
    path = docs_dir / VERIFIED_FILE
    try:
        return json.loads(path.read_text()).get("pages", {})
    except FileNotFoundError:
        return {}
    except (ValueError, AttributeError) as exc:
        raise ValueError(f"{path}: not a verification record ({exc})") from None


def record(docs_dir: Path, pages: dict[str, dict[str, Any]]) -> Path:
    """Merge this run's page results into the record (pages not run keep theirs)."""
    path = docs_dir / VERIFIED_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    # Parallel test workers each record their own pages: merge one at a time.
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        merged = {**load(docs_dir), **pages}
        text = json.dumps({"pages": dict(sorted(merged.items()))}, indent=2) + "\n"
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(text)
        partial.replace(path)  # a site build reading it meanwhile sees old or new, whole
    return path


def _versions(entry: dict[str, Any]) -> str:
    versions = entry.get("versions") or {}
    return ", ".join(f"{name} {version}" for name, version in sorted(versions.items()))


def _lab_detail(lab: str, run: dict[str, Any]) -> str:
    images = ", ".join(f"`{i}`" for i in run.get("images", [])) or "?"
    return f"Lab `{lab}`, images {images}. Software: {_versions(run) or 'not recorded'}."


def _detail(entry: dict[str, Any]) -> str:
    """The badge's body: the lab, images and versions, or one line per lab it ran in."""
    runs = entry.get("runs")
    if not runs:
        lab, images = entry.get("lab", "?"), ", ".join(
            f"`{i}`" for i in entry.get("images", [])) or "?"
        return (f"    Lab `{lab}`, images {images}.\n"
                f"    Software: {_versions(entry) or 'not recorded'}.\n")
    lines = []
    for lab, run in runs.items():
        total = run.get("passed", 0) + run.get("failed", 0)
        verdict = (f"all {total} passed" if run.get("status") == "passed"
                   else f"{run.get('failed', '?')} of {total} failed")
        lines.append(f"    - **{lab}**: {verdict}. {_lab_detail(lab, run)}\n")
    return "\n" + "".join(lines)


def badge(entry: dict[str, Any] | None, blocks: int) -> str:
    """Markdown for the badge of a page with ``blocks`` executed blocks."""
    if blocks == 0:
        return ""
    if not entry:
        return ('!!! warning "Not verified"\n'
                f"    The {blocks} executed block(s) of this page have no passing test run "
                "on record: treat the shown output as unchecked.\n")
    when = entry.get("when", "?")
    detail = _detail(entry)
    if entry.get("status") == "passed" and entry.get("passed") == blocks:
        return (f'??? success "Verified {when}: all {blocks} executed blocks passed"\n'
                f"    Every console block on this page ran in the lab and printed what is "
                f"shown.\n{detail}")
    if entry.get("status") == "passed":
        return ('!!! warning "Partly verified"\n'
                f"    {entry.get('passed')} of the {blocks} executed blocks passed on {when}; "
                "the page has changed since.\n" + detail)
    return (f'!!! failure "Failed {when}"\n'
            f"    {entry.get('failed', '?')} of the {blocks} executed blocks failed in the "
            "last test run: the shown output may be wrong.\n" + detail)
