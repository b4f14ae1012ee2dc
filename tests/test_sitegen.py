"""Generated pages come from data through Jinja2: change the data, the page changes."""

import json
import shutil
from pathlib import Path

import pytest

from runbooks.sitegen import generate, render_tolerances

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture
def docs_copy(tmp_path):
    target = tmp_path / "docs"
    shutil.copytree(DOCS / "data", target / "data")
    return target


def test_tolerance_page_shows_measured_numbers_with_date_and_versions(docs_copy):
    page = render_tolerances(docs_copy)
    data = json.loads((docs_copy / "data/experiments/repair-zero-copy.json").read_text())
    assert data["started"] in page and data["versions"]["moosefs"] in page
    assert f"A file of {data['results']['file_size']} bytes" in page
    lost = json.loads((docs_copy / "data/experiments/servers-lost.json").read_text())
    row = lost["results"]["rows"][-1]
    assert f"| {row['goal']} | 3 of 4 |" in page
    assert "Not measured yet" not in page


def test_changing_the_data_changes_the_page(docs_copy):
    path = docs_copy / "data/experiments/repair-zero-copy.json"
    doc = json.loads(path.read_text())
    doc["results"]["file_size"] = 12345
    path.write_text(json.dumps(doc))
    (written,) = generate(docs_copy)
    assert "A file of 12345 bytes" in written.read_text()


def test_missing_experiment_is_said_plainly(docs_copy):
    (docs_copy / "data/experiments/restore-goal.json").unlink()
    page = render_tolerances(docs_copy)
    assert "Not measured yet" in page and "invoke lab.experiment restore-goal" in page
