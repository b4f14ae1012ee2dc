"""The site builds strictly, links resolve, nothing loads from other hosts, pages are tagged."""

import json
import subprocess

import pytest

from runbooks.site.fences import front_matter
from runbooks.site.links import check_site, inbound, link_graph
from tests.helpers import REPO

DOCS = REPO / "docs"
PAGES = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))


def test_strict_build_and_search_index(built_site):
    index = json.loads((built_site / "search/search_index.json").read_text())
    pages = {doc["location"].split("#")[0] for doc in index["docs"]}
    assert "runbooks/mount-options.html" in pages
    assert "lessons/lvm.html" in pages and "glossary.html" in pages
    texts = " ".join(doc["text"] for doc in index["docs"])
    assert "data=writeback" in texts and "nobarrier" in texts
    # The offline plugin inlines the index as a script, so search works from file://.
    assert (built_site / "search/search_index.js").read_text().startswith("var __index =")


def test_no_broken_link_or_anchor_and_no_outside_request(built_site):
    problems = check_site(built_site)
    assert problems == []


def test_link_check_catches_what_it_should(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a/index.html").write_text('<h2 id="x">x</h2><a href="#x">ok</a>')
    (tmp_path / "p.html").write_text(
        '<a href="a/">ok</a><a href="a/#x">ok</a><a href="a/#y">bad anchor</a>'
        '<a href="gone.html">bad</a><a href="https://example.org/">fine: a click</a>'
        '<script src="https://cdn.example.org/x.js"></script>'
        '<link rel="stylesheet" href="//fonts.example.org/f.css">'
    )
    assert sorted(check_site(tmp_path)) == [
        "p.html: broken link gone.html",
        "p.html: loads //fonts.example.org/f.css from another host",
        "p.html: loads https://cdn.example.org/x.js from another host",
        "p.html: missing anchor a/#y",
    ]


def test_no_font_or_script_cdn_in_pages(built_site):
    html = (built_site / "index.html").read_text()
    for host in ("fonts.googleapis.com", "fonts.gstatic.com", "unpkg.com", "cdn.jsdelivr.net"):
        assert host not in html


@pytest.mark.parametrize("page", [p for p in PAGES if p != "tags.md"])
def test_every_page_has_tags_and_a_kind(page):
    meta = front_matter(DOCS / page)
    tags = meta.get("tags") or []
    assert tags, f"{page}: no tags in front matter"
    assert any(t.startswith("kind:") for t in tags), f"{page}: no kind: tag"
    if any(t in ("kind:story", "kind:lesson", "kind:runbook") for t in tags):
        assert meta.get("systems"), f"{page}: no systems: in front matter"
        assert meta.get("symptoms"), f"{page}: no symptoms: in front matter"
        assert any(t.startswith("system:") for t in tags), f"{page}: no system: tag"


def test_no_orphan_page():
    linked_from = inbound(link_graph(DOCS))
    orphans = [page for page, sources in linked_from.items()
               if page != "index.md" and page in PAGES and not sources]
    assert orphans == []


def test_backlinks_go_both_ways(built_site):
    # The story links its runbook; the built runbook page links back to the story.
    html = (built_site / "runbooks/mfs-repair.html").read_text()
    assert "Pages that link here" in html
    assert "../stories/moosefs-zero-copies.html" in html


def _listed(proc: subprocess.CompletedProcess) -> dict[str, str]:
    """Task name -> its help line(s), in the order `--list` prints them."""
    assert proc.returncode == 0, proc.stderr
    tasks: dict[str, str] = {}
    name = ""
    for line in proc.stdout.splitlines():
        if line.startswith("  ") and not line.startswith("   "):
            name, _, text = line.strip().partition(" ")
            tasks[name] = text.strip()
        elif line.startswith("   ") and name:
            tasks[name] += " " + line.strip()
    return tasks


def test_bp_command_offers_the_same_tasks():
    """`bp` (run outside the checkout) lists exactly the tasks `invoke` lists in the
    checkout, with the same help, less the lab, the site build and the test suite."""
    from tests.helpers import run_bp, run_task

    everything = _listed(run_task("--list"))
    monitoring = _listed(run_bp("--list", cwd="/"))
    dev_only = {name for name in everything if name == "test" or name.split(".")[0] in
                ("lab", "site")}
    assert {name.split(".")[0] for name in dev_only} == {"lab", "site", "test"}
    assert monitoring == {name: text for name, text in everything.items()
                          if name not in dev_only}
    assert list(monitoring) == [name for name in everything if name not in dev_only]
    assert {"mounts.audit", "mounts.fix", "changes.undo", "changes.list"} <= set(monitoring)


RUNBOOK_SECTIONS = ["Symptoms", "Impact", "Diagnose", "Mitigate", "Verify", "Roll back"]
RUNBOOK_PAGES = [p for p in PAGES if "kind:runbook" in (front_matter(DOCS / p).get("tags") or [])]


@pytest.mark.parametrize("page", RUNBOOK_PAGES)
def test_runbook_pages_have_the_fixed_sections_and_link_their_story(page):
    text = (DOCS / page).read_text()
    headings = [line[3:].split(" {#")[0].strip() for line in text.splitlines()
                if line.startswith("## ")]
    assert [h for h in headings if h in RUNBOOK_SECTIONS] == RUNBOOK_SECTIONS, headings
    # The story is a failure story, or for runbooks born of a lesson, that lesson.
    assert "../stories/" in text or "../lessons/" in text, f"{page}: no link to its story"


def test_there_are_runbook_pages():
    assert len(RUNBOOK_PAGES) >= 5
