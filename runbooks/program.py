"""``bp``'s Invoke program: the monitoring task tree, with typed core options.

runbooks.cli.main starts it (after importing Invoke the lean way).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from invoke import Program
from invoke.parser import Argument

from . import __version__
from .core.entry import SIGPIPE_EXIT, reader_gone, silence_output, typed
from .namespace import monitoring


class BpProgram(Program):
    """Invoke's Program whose own options (-T, --list-depth) are typed like the tasks'."""

    def core_args(self) -> list[Argument]:
        return [typed(arg) for arg in super().core_args()]


def run(domains: Iterable[str]) -> None:
    """Run ``bp`` with sys.argv over the monitoring tree of ``domains``."""
    program = BpProgram(namespace=monitoring(domains), name="Breaking Point", binary="bp",
                        version=__version__)
    try:
        program.run()
        sys.stdout.flush()
    except BrokenPipeError:
        if not reader_gone():
            raise
        silence_output()
        sys.exit(SIGPIPE_EXIT)
