"""What every part of the lab engine shares: its error, progress log, polling, paths."""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ...core.errors import RunbookError

REPO_ROOT = Path(__file__).resolve().parents[3]
STATE_DIR = Path(os.environ.get("BP_STATE_DIR", Path.home() / ".local/state/breaking-point"))


def cache_dir() -> Path:
    """The machine's lab cache: downloaded sources and wheels, and the build locks."""
    return Path(os.environ.get("BP_CACHE_DIR") or Path.home() / ".cache/breaking-point")


class LabError(RunbookError):
    """The lab cannot do what was asked (no engine, image build failed, not ready)."""


@contextlib.contextmanager
def machine_lock(name: str) -> Iterator[None]:
    """Hold the machine-wide lock ``name`` (an flock), e.g. while building one image.

    Parallel test workers and a second shell may ask for the same image at once;
    the second waits for the first build and then finds the image, instead of
    building it again (LizardFS takes 17 minutes on 2 cores).
    """
    locks = cache_dir() / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{name}.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another process that holds the {name} lock")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
