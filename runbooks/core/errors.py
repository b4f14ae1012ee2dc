"""Errors that end a runbook with a one-line message instead of a traceback."""

from __future__ import annotations


class RunbookError(Exception):
    """A problem the operator can act on: bad input, a missing tool, no engine.

    The message is one line that names the cause. Runbooks exit UNKNOWN (3).
    """


class UsageError(RunbookError):
    """The command line itself is wrong (bad option value, bad host name)."""


class TargetError(RunbookError):
    """A target could not be reached or a command on it could not run."""


class ParseError(RunbookError):
    """Output or a file did not have the expected shape."""
