"""The `site` tasks: build, check and serve the MkDocs site."""

from __future__ import annotations

import shlex
import sys

from ..core.runner import TaskExit, collection, runbook_task

PY = shlex.quote(sys.executable)
MKDOCS_ENV = {"NO_MKDOCS_2_WARNING": "1"}  # keep build output to what matters


@runbook_task(label="SITE")
def build(c):
    """Build the site into site/ with `mkdocs build --strict` (warnings are errors)."""
    c.run(f"{PY} -m mkdocs build --strict", echo=True, env=MKDOCS_ENV)


@runbook_task(
    label="SITE",
    help={"address": "Where to serve, host:port (default 127.0.0.1:8000)."},
)
def serve(c, address="127.0.0.1:8000"):
    """Build strictly and serve the site with live reload (Ctrl-C stops)."""
    c.run(f"{PY} -m mkdocs serve --strict -a {shlex.quote(address)}", echo=True, pty=False,
          env=MKDOCS_ENV)


@runbook_task(label="SITE")
def check(c):
    """Build the site strictly into a temporary directory and check every link and anchor.

    Also fails when a page would load anything (script, style, image, font)
    from another host: the site must work offline, also from file://.
    """
    import tempfile
    from pathlib import Path

    from .links import check_site

    with tempfile.TemporaryDirectory() as tmp:
        c.run(f"{PY} -m mkdocs build --strict -q -d {shlex.quote(tmp)}", echo=True,
              env=MKDOCS_ENV)
        problems = check_site(Path(tmp))
        pages = sum(1 for _ in Path(tmp).rglob("*.html"))
    for line in problems:
        print(line)
    print(f"{pages} pages checked, {len(problems)} problem(s)")
    if problems:
        raise TaskExit(1)


ns = collection("site", build, check, serve)
