"""Verified badges: from the test run's record to the page, and plain when unverified."""

import json

from runbooks import verified

ENTRY = {"when": "2026-11-25 21:00 UTC", "status": "passed", "passed": 3, "failed": 0,
         "lab": "nas", "images": ["bp-lab/nas:abc"], "versions": {"e2fsprogs": "1.47.0-2"}}


def test_passing_page_names_date_images_and_versions():
    badge = verified.badge(ENTRY, blocks=3)
    assert badge.startswith('??? success "Verified 2026-11-25 21:00 UTC: all 3 executed')
    assert "`bp-lab/nas:abc`" in badge and "e2fsprogs 1.47.0-2" in badge


def test_unverified_failed_and_changed_pages_say_so():
    assert "Not verified" in verified.badge(None, blocks=2)
    assert "Failed" in verified.badge({**ENTRY, "status": "failed", "failed": 1}, blocks=3)
    assert "Partly verified" in verified.badge(ENTRY, blocks=4)
    assert verified.badge(None, blocks=0) == ""


def test_record_merges_pages(tmp_path):
    verified.record(tmp_path, {"a.md": ENTRY})
    verified.record(tmp_path, {"b.md": {**ENTRY, "lab": "moosefs"}})
    pages = json.loads((tmp_path / "data/verified.json").read_text())["pages"]
    assert set(pages) == {"a.md", "b.md"} and pages["b.md"]["lab"] == "moosefs"
    assert verified.load(tmp_path)["a.md"]["lab"] == "nas"


def test_every_page_with_executed_blocks_shows_a_badge(built_site):
    from pathlib import Path

    from runbooks.docfences import console_blocks

    docs = Path(__file__).resolve().parents[1] / "docs"
    for page in docs.rglob("*.md"):
        if console_blocks(page.read_text()):
            html = (built_site / page.relative_to(docs).with_suffix(".html")).read_text()
            assert ("Verified " in html or "Not verified" in html or "Failed " in html
                    or "Partly verified" in html), page
