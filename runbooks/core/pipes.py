"""A quiet end when the reader of our output goes away, as `… | head` does.

Both entry points (``invoke`` with tasks.py, and ``bp``) use this, and ``bp``'s
fast path uses it without Invoke, so it imports nothing but the standard library.
``quiet_broken_pipe`` points stdout at /dev/null and exits 141 (as if killed by
SIGPIPE), or with the check's own status when only the final flush found the
reader gone.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import select
import sys
from types import TracebackType
from typing import TextIO

SIGPIPE_EXIT = 141  # 128 + SIGPIPE: what a shell reports for `cmd | head`


def _fd(stream: TextIO | None) -> int | None:
    try:
        return stream.fileno() if stream is not None else None
    except (AttributeError, OSError, ValueError):  # pytest's capture, a closed stream
        return None


def _peer_gone(fd: int | None) -> bool:
    """True when ``fd`` is a pipe or socket whose reading end has been closed."""
    if fd is None:
        return False
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def reader_gone() -> bool:
    """Did whoever reads our stdout (or stderr) stop reading, as `head` does?"""
    return _peer_gone(_fd(sys.stdout)) or _peer_gone(_fd(sys.stderr))


def silence_output() -> None:
    """Point stdout (and stderr, if its reader left too) at /dev/null.

    Buffered output then goes nowhere instead of failing again at exit.
    """
    for stream in (sys.stdout, sys.stderr):
        fd = _fd(stream)
        if fd is not None and _peer_gone(fd):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, fd)
            os.close(devnull)


def _flush_at_exit() -> None:
    """Flush before Python does: a reader that left must not print 'Exception ignored'."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except BrokenPipeError:
            silence_output()
            with contextlib.suppress(OSError, ValueError):
                stream.flush()


def _excepthook(kind: type[BaseException], exc: BaseException,
                tb: TracebackType | None) -> None:
    if issubclass(kind, BrokenPipeError) and reader_gone():
        silence_output()
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os._exit(SIGPIPE_EXIT)  # the program was done; only its output had nowhere to go
    _previous_hook(kind, exc, tb)


_previous_hook = sys.excepthook
_installed = False


def quiet_broken_pipe() -> None:
    """Let `… | head` end the program quietly (idempotent; both entry points call it)."""
    global _installed, _previous_hook
    if _installed:
        return
    _installed = True
    _previous_hook = sys.excepthook
    sys.excepthook = _excepthook
    atexit.register(_flush_at_exit)
