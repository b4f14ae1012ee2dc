"""Project tasks: build and serve the site, run the test suite."""

from __future__ import annotations

import shlex
import sys

from invoke import Collection, Exit

from .core.runner import runbook_task

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

    from .sitelinks import check_site

    with tempfile.TemporaryDirectory() as tmp:
        c.run(f"{PY} -m mkdocs build --strict -q -d {shlex.quote(tmp)}", echo=True,
              env=MKDOCS_ENV)
        problems = check_site(Path(tmp))
        pages = sum(1 for _ in Path(tmp).rglob("*.html"))
    for line in problems:
        print(line)
    print(f"{pages} pages checked, {len(problems)} problem(s)")
    if problems:
        raise Exit(code=1)


site = Collection("site")
site.add_task(build)
site.add_task(check)
site.add_task(serve)


@runbook_task(
    label="TEST",
    help={
        "unit": "Only tests that need no Docker engine (parsers, renderers, targets).",
        "k": "Only tests matching this pytest -k expression.",
        "pytest_args": "Extra arguments passed to pytest as they are.",
    },
)
def test(c, unit=False, k=None, pytest_args=""):
    """Run the whole test suite: unit tests, lab tests in containers, and every doc block.

    Lab tests need a Docker engine and the base image (`invoke lab.setup`);
    without them they fail loudly rather than skip.
    """
    args = [PY, "-m", "pytest"]
    if unit:
        args += ["-m", "not lab"]
    if k:
        args += ["-k", shlex.quote(k)]
    command = " ".join(args) + (f" {pytest_args}" if pytest_args else "")
    result = c.run(command, echo=True, pty=False, warn=True)
    if result.exited:
        raise Exit(code=result.exited)
