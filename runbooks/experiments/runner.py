"""The one runner: lab up, steady state, method, steady state again, rollbacks, journal.

An experiment declares its lab system, the probes of its steady state, its
method (a function that acts and observes through :meth:`Run.step`) and its
rollbacks. :func:`run` carries it out in that order, times every activity,
always runs the rollbacks and takes the lab down, and writes the journal
(runbooks/experiments/journal.py) to ``OUT_DIR/NAME.json``.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .journal import Activity, Journal, deviated, utc


class ExperimentError(Exception):
    """An experiment run did not complete (its journal says how far it got)."""


@dataclass(frozen=True)
class Probe:
    """A steady-state probe: ``fn(run)`` gives an output that must equal ``tolerance``.

    With ``tolerance=None`` the probe only records its output.
    """

    name: str
    fn: Callable[[Run], Any]
    tolerance: Any = None


@dataclass(frozen=True)
class Rollback:
    """A named action that puts the lab back; ``fn(run)`` returns what it did."""

    name: str
    fn: Callable[[Run], Any]


@dataclass(frozen=True)
class System:
    """A lab system: how to bring one up for a run, take it down, and read its versions."""

    description: str  # the journal's ``lab``
    up: Callable[[str], dict[str, Any]]  # prefix -> facts
    down: Callable[[Run], None]
    versions: Callable[[Run], dict[str, str]]
    lab: str = ""  # the lab system's name (moosefs, moosefs4, lizardfs, vm-lvm)


@dataclass(frozen=True)
class Experiment:
    """What an experiment declares; ``method(run)`` returns the results."""

    name: str
    title: str
    system: System
    steady_state: tuple[Probe, ...]
    method: Callable[[Run], dict[str, Any]]
    rollbacks: tuple[Rollback, ...] = ()
    variants: tuple[System, ...] = ()  # the same method on other labs (other versions)

    def labs(self) -> dict[str, System]:
        """Every lab this experiment runs on, its default (``system``) first."""
        return {s.lab: s for s in (self.system, *self.variants)}

    def journal_name(self, lab: str | None = None) -> str:
        """``NAME`` on the default lab, ``NAME.LAB`` on another one."""
        return self.name if lab in (None, self.system.lab) else f"{self.name}.{lab}"


def log(message: str) -> None:
    """Progress goes to stderr, as the lab's does."""
    print(f"lab: {message}", file=sys.stderr, flush=True)


@dataclass
class Run:
    """One run of an experiment: its lab's facts and its journal."""

    journal: Journal
    prefix: str
    facts: dict[str, Any] = field(default_factory=dict)
    lab: str = ""  # the lab system this run brought up

    @contextlib.contextmanager
    def step(self, name: str, kind: str = "action",
             into: list[Activity] | None = None) -> Iterator[Activity]:
        """Time the block as one activity (of the method unless ``into``); set ``.output``.

        An exception marks it failed, with the error as output, and goes on.
        """
        activity = Activity(name, kind, start=utc(precise=True))
        began = time.monotonic()
        try:
            yield activity
        except BaseException as exc:
            activity.status, activity.output = "failed", {"error": str(exc) or repr(exc)}
            raise
        finally:
            activity.duration = round(time.monotonic() - began, 2)
            activity.end = utc(precise=True)
            (self.journal.method if into is None else into).append(activity)
            log(f"{self.journal.experiment} [{kind}] {name} ({activity.status})")

    def action(self, name: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """Run ``fn(*args, **kw)`` as an action of the method; its result is the output."""
        with self.step(name, "action") as step:
            step.output = fn(*args, **kw)
        return step.output

    def probe(self, name: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """Run ``fn(*args, **kw)`` as a probe of the method; its result is the output."""
        with self.step(name, "probe") as step:
            step.output = fn(*args, **kw)
        return step.output


def _hypothesis(run: Run, probes: tuple[Probe, ...], into: list[Activity]) -> bool:
    """Run every probe into ``into``; True when each met its tolerance."""
    met = True
    for probe in probes:
        # A probe that raises has missed its tolerance: the journal holds its error.
        with contextlib.suppress(Exception), run.step(probe.name, "probe", into=into) as step:
            step.tolerance = probe.tolerance
            step.output = probe.fn(run)
            if probe.tolerance is not None and step.output != probe.tolerance:
                step.status = "failed"
        met = met and into[-1].status == "succeeded"
    return met


def _experiment(run: Run, experiment: Experiment) -> None:
    """Steady state, method, steady state again; sets status, deviated and results."""
    journal = run.journal
    if not _hypothesis(run, experiment.steady_state, journal.before):
        journal.status = "failed"  # not the steady state: the method would prove nothing
        return
    try:
        results = experiment.method(run)
    except Exception as exc:
        journal.status = "failed"
        if not journal.method or journal.method[-1].status != "failed":  # broke between steps
            now = utc(precise=True)
            journal.method.append(Activity("method", "action", now, now, 0.0, "failed",
                                           {"error": str(exc) or repr(exc)}))
        return
    _hypothesis(run, experiment.steady_state, journal.after)
    journal.results, journal.status = results, "completed"
    journal.deviated = deviated(journal.before, journal.after)


def _rollbacks(run: Run, experiment: Experiment) -> None:
    """Every rollback runs, also after another one failed."""
    for rollback in experiment.rollbacks:
        with contextlib.suppress(Exception), \
                run.step(rollback.name, "action", into=run.journal.rollbacks) as step:
            step.output = rollback.fn(run)


def run(experiment: Experiment, out_dir: Path, lab: str | None = None) -> Path:
    """Run ``experiment`` in a fresh lab (its default one, or ``lab``) and write its journal.

    The journal goes to ``OUT_DIR/NAME.json`` (default lab) or ``NAME.LAB.json``.
    ExperimentError (after the journal is written) unless the run completed.
    """
    systems = experiment.labs()
    if lab is not None and lab not in systems:
        raise ExperimentError(f"experiment {experiment.name} does not run on {lab!r}: "
                              f"choose one of {', '.join(systems)}")
    system = systems[lab] if lab is not None else experiment.system
    name = experiment.journal_name(lab)
    journal = Journal(experiment.name, experiment.title, system.description)
    began = time.monotonic()
    one = Run(journal, prefix=f"bp-exp-{name.replace('.', '-')}", lab=system.lab)
    try:
        with one.step("lab up", "probe", into=journal.before) as step:
            one.facts.update(system.up(one.prefix))
            step.output = {"seconds": one.facts.get("seconds")}
        with contextlib.suppress(Exception):
            journal.versions = system.versions(one)
        _experiment(one, experiment)
    finally:
        try:
            _rollbacks(one, experiment)
        finally:
            try:
                system.down(one)
            except Exception as exc:  # the journal is still written; the lab may be left over
                log(f"{name}: could not take the lab down: {exc}")
            journal.finished = utc()
            journal.duration = round(time.monotonic() - began, 1)
            path = journal.write(out_dir / f"{name}.json")
    if journal.status != "completed":
        raise ExperimentError(f"experiment {name} {journal.status} (journal in {path})")
    return path
