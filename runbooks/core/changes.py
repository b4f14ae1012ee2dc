"""Changes: dry-run by default, applied only with --apply, always recorded with their undo.

A runbook that mutates a system builds a :class:`Plan` of :class:`Step` s.
Each step has the command that makes the change, the command that reverses
it, and a check that tells whether the change took. Without ``--apply`` the
plan is printed and nothing runs. With it, steps run in order; the journal
(JSON lines in the state directory) records every applied step with its undo
so that ``invoke changes.undo`` can put things back later, from another shell.
A step that fails stops the plan: later steps are not attempted.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .errors import RunbookError
from .targets import Target

Verifier = Callable[[Target], Awaitable[bool]]


def state_dir() -> Path:
    return Path(os.environ.get("BP_STATE_DIR", Path.home() / ".local/state/breaking-point"))


def journal_path() -> Path:
    return state_dir() / "changes.jsonl"


@dataclass
class Step:
    description: str
    argv: Sequence[str]
    undo: Sequence[str] | None  # None: cannot be undone by a command (say so in description)
    verify: Verifier | None = None


@dataclass
class Plan:
    runbook: str
    target: Target
    steps: list[Step] = field(default_factory=list)
    manual: list[str] = field(default_factory=list)  # what the runbook will not do itself

    def add(self, step: Step) -> None:
        self.steps.append(step)


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def print_plan(plan: Plan, out: TextIO) -> None:
    if not plan.steps and not plan.manual:
        out.write(f"{plan.target.name}: nothing to change\n")
        return
    for number, step in enumerate(plan.steps, 1):
        out.write(f"{number}. {step.description}\n")
        out.write(f"   run:  {shlex.join(step.argv)}\n")
        undo = shlex.join(step.undo) if step.undo else "(no automatic undo)"
        out.write(f"   undo: {undo}\n")
    for note in plan.manual:
        out.write(f"manual: {note}\n")


def record_change(runbook: str, target: Target, steps: list[dict[str, Any]]) -> int:
    """Journal changes made outside a Plan (e.g. irreversible ones); returns the id."""
    change_id = _next_id(read_journal())
    _record({"id": change_id, "time": _now(), "runbook": runbook, "target": target.name,
             "target_kind": target.kind, "steps": steps, "undone": False})
    return change_id


def _record(entry: dict[str, Any]) -> None:
    path = journal_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as journal:
        journal.write(json.dumps(entry, sort_keys=True) + "\n")


def read_journal() -> list[dict[str, Any]]:
    path = journal_path()
    if not path.exists():
        return []
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            raise RunbookError(f"{path}:{number}: not a journal entry (bad JSON)") from None
    return entries


def _next_id(entries: list[dict[str, Any]]) -> int:
    return max((int(e.get("id", 0)) for e in entries), default=0) + 1


async def apply_plan(plan: Plan, apply: bool, out: TextIO | None = None) -> int:
    """Print the plan, and run it when ``apply``. Returns the journal id (0 if nothing ran)."""
    out = out or sys.stdout
    if not apply:
        print_plan(plan, out)
        if plan.steps:
            out.write("dry run: nothing changed; add --apply to make these changes\n")
        return 0
    if not plan.steps:
        print_plan(plan, out)
        return 0
    change_id = _next_id(read_journal())
    done: list[dict[str, Any]] = []
    failure = None
    for step in plan.steps:
        result = await plan.target.run(step.argv)
        ok = result.ok and (step.verify is None or await step.verify(plan.target))
        if not ok:
            why = result.first_error_line() if not result.ok else "the change did not take"
            failure = f"{step.description}: {why}"
            break
        done.append({"description": step.description, "argv": list(step.argv),
                     "undo": list(step.undo) if step.undo else None})
        out.write(f"done: {step.description}\n")
    if done:
        _record({"id": change_id, "time": _now(), "runbook": plan.runbook,
                 "target": plan.target.name, "target_kind": plan.target.kind, "steps": done,
                 "undone": False})
        if any(step["undo"] for step in done):
            out.write(f"recorded as change {change_id}; "
                      f"undo with: invoke changes.undo {change_id} --apply\n")
        else:
            out.write(f"recorded as change {change_id}; it has no undo\n")
    for note in plan.manual:
        out.write(f"manual: {note}\n")
    if failure:
        raise RunbookError(f"{plan.target.name}: stopped at step {len(done) + 1}: {failure}")
    return change_id if done else 0


def mark_undone(change_id: int) -> None:
    entries = read_journal()
    path = journal_path()
    with path.open("w", encoding="utf-8") as journal:
        for entry in entries:
            if int(entry.get("id", 0)) == change_id:
                entry["undone"] = _now()
            journal.write(json.dumps(entry, sort_keys=True) + "\n")
