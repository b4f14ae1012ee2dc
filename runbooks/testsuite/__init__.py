"""The `test` task: runs the project's test suite from a checkout (not shipped in the wheel)."""

from __future__ import annotations

import shlex
import sys

from ..core.runner import TaskExit, runbook_task

PY = shlex.quote(sys.executable)


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
        args += ["-m", shlex.quote("not lab")]
    if k:
        args += ["-k", shlex.quote(k)]
    command = " ".join(args) + (f" {pytest_args}" if pytest_args else "")
    result = c.run(command, echo=True, pty=False, warn=True)
    if result.exited:
        raise TaskExit(result.exited)
