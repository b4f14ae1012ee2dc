"""Progress bars for long runs, on standard error and only when it is a terminal.

Monitoring and pipes get no bars (and no escape codes); a human at a terminal
sees each phase advance. Callers get a factory: ``factory(label, total)``
returns a callback that advances that bar by N.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

Advance = Callable[[int], None]
Factory = Callable[[str, int], Advance]


@contextlib.contextmanager
def progress_bars(enabled: bool | None = None) -> Iterator[Factory | None]:
    """Yield a bar factory when stderr is a terminal (or ``enabled``), else None."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield None
        return
    from rich.console import Console  # lazy
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(file=sys.stderr), transient=True) as bars:

        def factory(label: str, total: int) -> Advance:
            task_id = bars.add_task(label, total=total)
            return lambda n: bars.advance(task_id, n)

        yield factory
