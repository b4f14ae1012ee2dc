"""Verified badges: from the test run's record to the page, and plain when unverified."""

import json
import multiprocessing
from pathlib import Path

from runbooks.site import verified
from tests import helpers

ENTRY = {"when": "2026-11-25 21:00 UTC", "status": "passed", "passed": 3, "failed": 0,
         "lab": "nas", "images": ["bp-lab/nas:abc"], "versions": {"e2fsprogs": "1.47.0-2"}}


def _record_many(docs: str, worker: int) -> None:
    for n in range(40):
        verified.record(Path(docs), {f"w{worker}-{n}.md": ENTRY})


def test_parallel_workers_recording_at_once_lose_no_page(tmp_path):
    # pytest-xdist workers each record their pages when they finish, possibly together
    with multiprocessing.get_context("fork").Pool(3) as pool:
        pool.starmap(_record_many, [(str(tmp_path), w) for w in range(3)])
    pages = verified.load(tmp_path)
    assert len(pages) == 120 and pages["w2-39.md"] == ENTRY


def test_passing_page_names_date_images_and_versions():
    badge = verified.badge(ENTRY, blocks=3)
    assert badge.startswith('??? success "Verified 2026-11-25 21:00 UTC: all 3 executed')
    assert "`bp-lab/nas:abc`" in badge and "e2fsprogs 1.47.0-2" in badge


def test_unverified_failed_and_changed_pages_say_so():
    unverified = verified.badge(None, blocks=2)
    assert unverified.splitlines()[0] == '!!! warning "Not verified"'
    assert "The 2 executed block(s) of this page have no passing test run" in unverified
    failed = verified.badge({**ENTRY, "status": "failed", "failed": 1}, blocks=3)
    assert failed.splitlines()[:2] == [
        '!!! failure "Failed 2026-11-25 21:00 UTC"',
        "    1 of the 3 executed blocks failed in the last test run: the shown output may "
        "be wrong."]
    # a passing record of fewer blocks than the page has now: the page changed since
    partly = verified.badge(ENTRY, blocks=4)
    assert partly.splitlines()[:2] == [
        '!!! warning "Partly verified"',
        "    3 of the 4 executed blocks passed on 2026-11-25 21:00 UTC; the page has changed "
        "since."]
    assert verified.badge(None, blocks=0) == ""
    assert verified.badge(ENTRY, blocks=0) == ""


def test_every_badge_names_lab_images_and_software():
    for entry, blocks in ((ENTRY, 3), (ENTRY, 4), ({**ENTRY, "status": "failed"}, 3)):
        lines = verified.badge(entry, blocks).splitlines()
        assert lines[-2:] == ["    Lab `nas`, images `bp-lab/nas:abc`.",
                              "    Software: e2fsprogs 1.47.0-2."]
    bare = verified.badge({"status": "failed"}, blocks=1).splitlines()
    assert bare == ['!!! failure "Failed ?"',
                    "    ? of the 1 executed blocks failed in the last test run: the shown "
                    "output may be wrong.",
                    "    Lab `?`, images ?.", "    Software: not recorded."]


def test_record_merges_pages(tmp_path):
    verified.record(tmp_path, {"a.md": ENTRY})
    verified.record(tmp_path, {"b.md": {**ENTRY, "lab": "moosefs"}})
    pages = json.loads((tmp_path / "data/verified.json").read_text())["pages"]
    assert set(pages) == {"a.md", "b.md"} and pages["b.md"]["lab"] == "moosefs"
    assert verified.load(tmp_path)["a.md"]["lab"] == "nas"


def test_every_page_with_executed_blocks_shows_its_own_badge(built_site):
    """The badge a built page shows is the one its record and its block count give:
    a page whose record passed must not show "Failed" or "Partly verified", and so on."""
    from runbooks.site.fences import console_blocks

    docs = helpers.REPO / "docs"
    records = verified.load(docs)
    for page in sorted(docs.rglob("*.md")):
        src = page.relative_to(docs).as_posix()
        blocks = console_blocks(page.read_text())
        if not blocks:
            assert src not in records, f"{src}: a record for a page without executed blocks"
            continue
        title = verified.badge(records.get(src), blocks).splitlines()[0].split('"')[1]
        html = (built_site / page.relative_to(docs).with_suffix(".html")).read_text()
        assert title in html, (src, title)


def test_a_page_run_in_several_labs_lists_each_labs_result():
    runs = {"moosefs": {"passed": 2, "failed": 0, "status": "passed",
                        "images": ["bp-lab/moosefs:1"],
                        "versions": {"moosefs-master": "3.0.117-1"}},
            "moosefs4": {"passed": 1, "failed": 1, "status": "failed",
                         "images": ["bp-lab/moosefs4:2"],
                         "versions": {"mfsmaster": "version: 4.59.2-1 ; build: 2106"}}}
    entry = {"when": "2026-11-30 17:00 UTC", "passed": 3, "failed": 1, "status": "failed",
             "lab": "moosefs, moosefs4", "runs": runs}
    badge = verified.badge(entry, blocks=4).splitlines()
    assert badge[:2] == ['!!! failure "Failed 2026-11-30 17:00 UTC"',
                         "    1 of the 4 executed blocks failed in the last test run: the shown "
                         "output may be wrong."]
    assert badge[-2:] == [
        "    - **moosefs**: all 2 passed. Lab `moosefs`, images `bp-lab/moosefs:1`. "
        "Software: moosefs-master 3.0.117-1.",
        "    - **moosefs4**: 1 of 2 failed. Lab `moosefs4`, images `bp-lab/moosefs4:2`. "
        "Software: mfsmaster version: 4.59.2-1 ; build: 2106."]
