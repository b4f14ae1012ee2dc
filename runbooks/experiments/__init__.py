"""Experiments: break a lab system on purpose and write down what happened, as data.

Each experiment (moosefs.py, lvm.py) declares its lab system, its steady-state
probes, its method and its rollbacks; the one runner (runner.py) carries it
out and writes one journal (journal.py) to ``docs/data/experiments/NAME.json``,
from which the tolerance pages are rendered. ``EXPERIMENTS`` maps each name
to its definition; it is read on first use, so that the journal and the
runner import without the lab.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parents[2] / "docs" / "data" / "experiments"


def registry() -> dict[str, Any]:
    """Every experiment by name: the MooseFS ones, then the LVM ones."""
    from . import lvm, master, moosefs

    return {**moosefs.EXPERIMENTS, **master.EXPERIMENTS, **lvm.EXPERIMENTS}


def __getattr__(name: str) -> Any:
    if name == "EXPERIMENTS":
        return registry()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run_experiment(name: str, out_dir: Path = DATA_DIR, lab: str | None = None) -> Path:
    """Run experiment ``name`` in a fresh lab (its default or ``lab``); the journal's path."""
    from .runner import ExperimentError, run

    experiments = registry()
    if name not in experiments:
        raise ExperimentError(f"unknown experiment {name!r}: choose one of "
                              f"{', '.join(experiments)}")
    return run(experiments[name], out_dir, lab)
