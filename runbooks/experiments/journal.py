"""The journal of an experiment run, in the shape ChaosToolkit's journal made familiar.

One JSON document per experiment, ``docs/data/experiments/NAME.json``::

    experiment, title       what ran
    status                  completed | failed | aborted
    deviated                the steady state after differs from the one before,
                            or a probe after missed its tolerance
    started, finished       UTC, to the second; duration in seconds
    versions, lab           the software measured and the lab it ran in
    results                 the measured data the tolerance pages are rendered from
    steady_state_hypothesis {before: [probe...], after: [probe...]}
    method                  [activity...]: the faults and the observations
    rollbacks               [activity...]: what put the lab back, always run

An activity is ``{name, kind (action|probe), start, end, duration, status
(succeeded|failed), output}``; a probe of the steady state also has its
``tolerance`` (the output it must have, or null when it only records).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STATUSES = ("completed", "failed", "aborted")
KINDS = ("action", "probe")
ACTIVITY_STATUSES = ("succeeded", "failed")
ACTIVITY_KEYS = ("name", "kind", "start", "end", "duration", "status", "output")


def utc(moment: dt.datetime | None = None, precise: bool = False) -> str:
    """An ISO 8601 UTC time: to the second, or to the millisecond when ``precise``."""
    moment = moment or dt.datetime.now(dt.UTC)
    if precise:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Activity:
    """One timed step: an action on the system or a probe of it."""

    name: str
    kind: str = "action"
    start: str = ""
    end: str = ""
    duration: float = 0.0
    status: str = "succeeded"
    output: Any = None
    tolerance: Any = None  # steady-state probes only

    def to_dict(self, probe_of_hypothesis: bool = False) -> dict[str, Any]:
        doc = {k: getattr(self, k) for k in ACTIVITY_KEYS}
        if probe_of_hypothesis:
            doc["tolerance"] = self.tolerance
        return doc


@dataclass
class Journal:
    """Everything one run of an experiment recorded."""

    experiment: str
    title: str
    lab: str
    status: str = "aborted"  # until the run says otherwise
    deviated: bool = False
    started: str = field(default_factory=utc)
    finished: str = ""
    duration: float = 0.0
    versions: dict[str, str] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    before: list[Activity] = field(default_factory=list)
    after: list[Activity] = field(default_factory=list)
    method: list[Activity] = field(default_factory=list)
    rollbacks: list[Activity] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document, keys in a fixed order (results before the long journal)."""
        return {
            "experiment": self.experiment, "title": self.title, "status": self.status,
            "deviated": self.deviated, "started": self.started, "finished": self.finished,
            "duration": self.duration, "versions": self.versions, "lab": self.lab,
            "results": self.results,
            "steady_state_hypothesis": {
                "before": [a.to_dict(probe_of_hypothesis=True) for a in self.before],
                "after": [a.to_dict(probe_of_hypothesis=True) for a in self.after]},
            "method": [a.to_dict() for a in self.method],
            "rollbacks": [a.to_dict() for a in self.rollbacks],
        }

    def write(self, path: Path) -> Path:
        """Write the document to ``path`` atomically."""
        return write_json(path, self.to_dict())


def deviated(before: list[Activity], after: list[Activity]) -> bool:
    """A probe after missed its tolerance, or gave another output than the same probe before."""
    outputs = {a.name: a.output for a in before}
    return any(a.status != "succeeded" or (a.name in outputs and outputs[a.name] != a.output)
               for a in after)


def write_json(path: Path, doc: dict[str, Any]) -> Path:
    """Write ``doc`` as indented JSON: to a temporary file first, then renamed over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(doc, indent=2) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _activity_problems(where: str, activity: Any, probe: bool) -> list[str]:
    if not isinstance(activity, dict):
        return [f"{where}: not an object"]
    keys = (*ACTIVITY_KEYS, "tolerance") if probe else ACTIVITY_KEYS
    problems = [f"{where}: keys {sorted(activity)} are not {sorted(keys)}"] \
        if set(activity) != set(keys) else []
    if activity.get("kind") not in KINDS:
        problems.append(f"{where}: kind {activity.get('kind')!r}")
    if activity.get("status") not in ACTIVITY_STATUSES:
        problems.append(f"{where}: status {activity.get('status')!r}")
    if not isinstance(activity.get("name"), str) or not activity.get("name"):
        problems.append(f"{where}: no name")
    if not isinstance(activity.get("duration"), int | float):
        problems.append(f"{where}: duration {activity.get('duration')!r}")
    return problems


TOP_KEYS = {"experiment": str, "title": str, "status": str, "deviated": bool, "started": str,
            "finished": str, "duration": (int, float), "versions": dict, "lab": str,
            "results": dict, "steady_state_hypothesis": dict, "method": list, "rollbacks": list}


def problems(doc: Any) -> list[str]:
    """What makes ``doc`` not a journal of this shape (an empty list when it is one)."""
    if not isinstance(doc, dict):
        return ["not an object"]
    found = [f"keys {sorted(doc)} are not {sorted(TOP_KEYS)}"] if set(doc) != set(TOP_KEYS) else []
    for key, kind in TOP_KEYS.items():
        if key in doc and not isinstance(doc[key], kind):
            found.append(f"{key}: {type(doc[key]).__name__}")
    if doc.get("status") not in STATUSES:
        found.append(f"status {doc.get('status')!r}")
    hypothesis = doc.get("steady_state_hypothesis")
    if isinstance(hypothesis, dict):
        if set(hypothesis) != {"before", "after"}:
            found.append(f"steady_state_hypothesis keys {sorted(hypothesis)}")
        for when in ("before", "after"):
            for i, probe in enumerate(hypothesis.get(when) or []):
                found += _activity_problems(f"steady_state_hypothesis.{when}[{i}]", probe, True)
    for section in ("method", "rollbacks"):
        for i, activity in enumerate(doc.get(section) or []):
            found += _activity_problems(f"{section}[{i}]", activity, False)
    return found
