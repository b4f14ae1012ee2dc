"""The site builds strictly and its search index holds the runbook and the story."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_strict_build_and_search_index(tmp_path):
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=REPO, capture_output=True, text=True, env=env, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    index = json.loads((tmp_path / "site/search/search_index.json").read_text())
    pages = {doc["location"].split("#")[0]: doc for doc in index["docs"]}
    assert "runbooks/mount-options/" in pages
    assert "stories/nas-write-performance/" in pages
    texts = " ".join(doc["text"] for doc in index["docs"])
    assert "data=writeback" in texts and "nobarrier" in texts


def test_site_works_offline(tmp_path):
    # No font or script CDN: operators read this during outages.
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", "-d", str(tmp_path)],
                   cwd=REPO, check=True, capture_output=True,
                   env=dict(os.environ, NO_MKDOCS_2_WARNING="1"))
    html = (tmp_path / "index.html").read_text()
    assert "fonts.googleapis.com" not in html and "fonts.gstatic.com" not in html


def test_bp_command_offers_the_same_tasks():
    bp = Path(sys.executable).with_name("bp")
    proc = subprocess.run([str(bp), "--list"], capture_output=True, text=True, check=True,
                          cwd="/")
    for task in ("mounts.audit", "mounts.fix", "changes.undo", "lab.up"):
        assert task in proc.stdout
