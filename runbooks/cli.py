"""The ``bp`` command: the same tasks as tasks.py, for hosts without the repo."""

from __future__ import annotations

import sys

from invoke import Program
from invoke.parser import Argument

from . import __version__
from .core.entry import SIGPIPE_EXIT, reader_gone, silence_output, typed
from .namespace import build


class BpProgram(Program):
    """Invoke's Program whose own options (-T, --list-depth) are typed like the tasks'."""

    def core_args(self) -> list[Argument]:
        return [typed(arg) for arg in super().core_args()]


def main() -> None:
    program = BpProgram(namespace=build(), name="Breaking Point", binary="bp",
                        version=__version__)
    try:
        program.run()
        sys.stdout.flush()
    except BrokenPipeError:
        if not reader_gone():
            raise
        silence_output()
        sys.exit(SIGPIPE_EXIT)
