"""The symptom index: generated from every page's symptoms, linked from the front page."""

from __future__ import annotations

import html as htmllib
import re

from runbooks.site.fences import first_command, front_matter
from runbooks.site.generate import SYMPTOM_PAGE, render_symptoms, symptom_rows
from tests.helpers import REPO

DOCS = REPO / "docs"


def _declared() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(DOCS.rglob("*.md")):
        for symptom in front_matter(path).get("symptoms") or []:
            found.setdefault(" ".join(str(symptom).split()), []).append(
                path.relative_to(DOCS).as_posix())
    return found


def test_every_declared_symptom_is_on_the_built_index(built_site):
    page = htmllib.unescape((built_site / "symptoms.html").read_text())
    cells = set(re.findall(r"<tr>\s*<td>(.*?)</td>", page, flags=re.S))
    missing = [s for s in _declared() if s not in cells]
    assert _declared() and missing == []


def test_a_runbooks_symptom_leads_to_it_and_its_first_command():
    rows = {row["symptom"]: row for row in symptom_rows(DOCS)}
    row = rows["chunks with 0 copies"]
    assert {p["path"] for p in row["runbooks"]} == {"runbooks/mfs-audit.md",
                                                     "runbooks/mfs-repair.md"}
    for page in row["runbooks"]:
        assert page["first"] == first_command((DOCS / page["path"]).read_text())
    assert "stories/moosefs-zero-copies.md" in {p["path"] for p in row["background"]}


def test_a_symptom_only_a_story_names_leads_to_the_runbooks_it_links(tmp_path):
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "stories").mkdir()
    (tmp_path / "runbooks/r.md").write_text(
        '---\nsymptoms: [other]\n---\n# R\n\n!!! danger "First"\n    Run `invoke r.check`.\n\n'
        "    Fact.\n")
    (tmp_path / "stories/s.md").write_text(
        "---\nsymptoms: [Odd  Noise]\n---\n# S\n\nSee [r](../runbooks/r.md).\n")
    rows = {row["symptom"]: row for row in symptom_rows(tmp_path)}
    assert [p["path"] for p in rows["Odd Noise"]["runbooks"]] == ["runbooks/r.md"]
    assert rows["Odd Noise"]["runbooks"][0]["first"] == "invoke r.check"
    assert "| Odd Noise | [r](runbooks/r.md) | `invoke r.check` |" in render_symptoms(tmp_path)


def test_front_page_leads_to_the_index_and_the_first_five_minutes(built_site):
    front = (built_site / "index.html").read_text()
    assert 'href="symptoms.html"' in front and 'href="first-five-minutes.html"' in front
    assert SYMPTOM_PAGE == "symptoms.md"
