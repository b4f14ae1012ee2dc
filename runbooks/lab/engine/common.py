"""What every part of the lab engine shares: its error, progress log, polling, paths."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...core.errors import RunbookError

REPO_ROOT = Path(__file__).resolve().parents[3]
STATE_DIR = Path(os.environ.get("BP_STATE_DIR", Path.home() / ".local/state/breaking-point"))


class LabError(RunbookError):
    """The lab cannot do what was asked (no engine, image build failed, not ready)."""


def log(message: str) -> None:
    """Progress for long lab work goes to stderr, so stdout stays parseable."""
    print(f"lab: {message}", file=sys.stderr, flush=True)


def wait_until(
    check: Callable[[], bool], timeout: float, what: str, interval: float = 0.2
) -> float:
    """Poll ``check`` until it is true; return the seconds it took or raise LabError."""
    start = time.monotonic()
    delay = interval
    while True:
        try:
            if check():
                return time.monotonic() - start
        except Exception:  # noqa: S110 - not ready yet is an expected answer
            pass
        if time.monotonic() - start > timeout:
            raise LabError(f"{what}: not ready after {timeout:g}s")
        time.sleep(delay)
        delay = min(delay * 1.5, 2.0)


def run(argv: list[str], what: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    """Run a host command; LabError with its last output line when it fails."""
    try:
        proc = subprocess.run(argv, text=True, capture_output=True, check=False, **kw)
    except FileNotFoundError:
        raise LabError(f"{what}: {argv[0]} is not installed") from None
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise LabError(f"{what} failed (exit {proc.returncode}): {tail[0]}")
    return proc
