"""The ``bp`` command: the same tasks as tasks.py, for hosts without the repo."""

from __future__ import annotations

from invoke import Program

from . import __version__
from .namespace import build


def main() -> None:
    Program(namespace=build(), name="Breaking Point", binary="bp", version=__version__).run()
