"""Shell scripts shipped as package data, one file per script.

Convention: a script that runs on a target (or in a lab VM or container) lives
next to the module that runs it, in that package's ``scripts/`` folder, as
``NAME.sh`` (for example ``runbooks/toolchain/scripts/collect.sh``), and is read
with :func:`load`. Scripts are constant text: their data (paths, names, sizes)
comes in as positional parameters or environment variables, never by editing
the text, so a hostile name stays one argv word. Run one as
``["sh", "-c", load(...), "NAME", ARG1, ARG2]``: ``$0`` is NAME, ``$1`` is ARG1.
``tests/project/test_shellcheck.py`` runs shellcheck on every one of them.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def load(package: str, name: str) -> str:
    """The text of ``scripts/NAME`` in ``package`` (pass the caller's ``__package__``)."""
    return files(package).joinpath("scripts", name).read_text(encoding="utf-8")
