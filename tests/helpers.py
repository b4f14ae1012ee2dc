"""What many test files share: where the repository and the captured data are, and how to
run a task as a user would (a real `invoke` or `bp` process, its output captured)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
INVOKE = [sys.executable, "-m", "invoke"]
BP = Path(sys.executable).with_name("bp")


def _run(argv: list[str], env: Mapping[str, str] | None, timeout: float,
         input: str | None, cwd: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=None if env is None else dict(env), input=input,
                          capture_output=True, text=True, check=False, timeout=timeout)


def run_task(*args: str, env: Mapping[str, str] | None = None, timeout: float = 120,
             input: str | None = None, cwd: Path | str = REPO,
             ) -> subprocess.CompletedProcess[str]:
    """``invoke ARGS...`` run in the repository with this interpreter; never raises on the
    exit status (the tests assert it)."""
    return _run([*INVOKE, *args], env, timeout, input, cwd)


def run_bp(*args: str, env: Mapping[str, str] | None = None, timeout: float = 120,
           input: str | None = None, cwd: Path | str = REPO,
           ) -> subprocess.CompletedProcess[str]:
    """``bp ARGS...``: the console script that ``pip install`` puts next to the interpreter."""
    assert BP.is_file(), f"the bp console script is not installed next to {sys.executable}"
    return _run([str(BP), *args], env, timeout, input, cwd)


def plan_steps(plan) -> list[tuple[str, list[str], list[str] | None]]:
    """A change plan as (description, argv, undo argv or None) per step, to compare exactly."""
    return [(s.description, list(s.argv), None if s.undo is None else list(s.undo))
            for s in plan.steps]
