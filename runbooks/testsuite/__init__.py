"""The `test` task: runs the project's test suite from a checkout (not shipped in the wheel)."""

from __future__ import annotations

import shlex
import sys

from ..core.runner import TaskExit, fail, runbook_task

PY = shlex.quote(sys.executable)
# Lab tests spend most of their time waiting on containers, so on 2 cores three
# workers overlap that waiting without starving the labs of CPU.
DEFAULT_WORKERS = 3


@runbook_task(
    label="TEST",
    help={
        "unit": "Only tests that need no Docker engine (parsers, renderers, targets).",
        "k": "Only tests matching this pytest -k expression.",
        "pytest_args": "Extra arguments passed to pytest as they are.",
        "workers": "Test files run in this many parallel processes (default 3: lab tests "
                   "mostly wait on containers); 1 runs them one after the other.",
    },
)
def test(c, unit=False, k=None, pytest_args="", workers=DEFAULT_WORKERS):
    """Run the whole test suite: unit tests, lab tests in containers, and every doc block.

    Lab tests need a Docker engine and the base image (`invoke lab.setup`);
    without them they fail loudly rather than skip. The whole suite first builds
    every lab image that is out of date (`invoke lab.build`); a run narrowed with
    -k or pytest arguments builds only what its labs use, when they start. Each
    test file runs whole in one worker, in its own labs, so files never share a lab.
    """
    if workers < 1:
        raise fail("test: --workers must be 1 or more")
    args = [PY, "-m", "pytest", "--durations=15"]  # the slowest tests, in every run's log
    if workers > 1:
        # one file per worker at a time, in the order the suite sorts them (longest first)
        args += ["-n", str(workers), "--dist", "loadfile", "--no-loadscope-reorder"]
    if unit:
        args += ["-m", shlex.quote("not lab")]
    if k:
        args += ["-k", shlex.quote(k)]
    command = " ".join(args) + (f" {pytest_args}" if pytest_args else "")
    if not (unit or k or pytest_args):  # a chosen few tests build only the images they use
        _build_lab_images()
    result = c.run(command, echo=True, pty=False, warn=True)
    if result.exited:
        raise TaskExit(result.exited)


def _build_lab_images() -> None:
    """Every lab image before the first test: on a new machine the LizardFS build takes
    about 20 minutes, and tests waiting on it would hold their labs (and CPU) idle.
    Without an engine, the lab tests themselves fail, loudly, with the reason."""
    from ..lab import engine

    try:
        engine.build_images()
    except engine.LabError as exc:
        print(f"test: lab images not built ({exc}); the lab tests will fail", file=sys.stderr)
