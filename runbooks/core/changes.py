"""Changes: dry-run by default, applied only with --apply, always recorded with their undo.

A runbook that mutates a system builds a :class:`Plan` of :class:`Step` s.
Each step has the command that makes the change, the command that reverses
it, and a check that tells whether the change took. Without ``--apply`` the
plan is printed and nothing runs. With it, steps run in order; the journal
(JSON lines in the state directory) records every applied step with its undo,
and how to reach the target again, so that ``invoke changes.undo`` can put
things back later, from another shell. The target keeps its own record of the
same run (core.hostrecord), for operators at other machines. A step that fails
stops the plan: later steps are not attempted.

A step may run itself instead of one command (``Step.run``), for example one
command over many paths in batches: it returns an :class:`Outcome` with a
journal record per thing it changed and the lines to show. A step without an
undo may say why (``Step.no_undo``); the journal keeps that with the step.

The journal is only ever replaced whole: under an exclusive lock (``flock`` on
a lock file next to it) it is read, changed, written to a temporary file in
the same directory, synced and renamed over the old one. A crash or a full
disk leaves the old journal as it was, and two runs at the same time get
distinct ids. A damaged line is reported once and kept as it is; the other
records stay usable.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import shlex
import stat
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .errors import RunbookError
from .targets import SSHTarget, Target

Verifier = Callable[[Target], Awaitable[bool]]


def state_dir() -> Path:
    return Path(os.environ.get("BP_STATE_DIR", Path.home() / ".local/state/breaking-point"))


def journal_path() -> Path:
    return state_dir() / "changes.jsonl"


@dataclass
class Outcome:
    """What a step that runs itself did."""

    records: list[dict[str, Any]] = field(default_factory=list)  # journal steps, as changed
    lines: list[str] = field(default_factory=list)  # what to show the operator
    failure: str = ""  # why the plan must stop here ("" when it may go on)


Runner = Callable[[Target], Awaitable[Outcome]]


class NothingToDo(RunbookError):
    """A plan that cannot even start (nothing to restore): an error on one target, an
    idle host in a rollout over many."""

    def __init__(self, message: str, idle: str) -> None:
        super().__init__(message)
        self.idle = idle


@dataclass
class Step:
    description: str
    argv: Sequence[str]
    undo: Sequence[str] | None  # None: cannot be undone by a command (say so in description)
    verify: Verifier | None = None
    no_undo: str = ""  # why there is no undo; journalled, and said when the change is recorded
    run: Runner | None = None  # runs the step instead of ``argv``; its records are journalled


@dataclass
class Plan:
    runbook: str
    target: Target
    steps: list[Step] = field(default_factory=list)
    manual: list[str] = field(default_factory=list)  # what the runbook will not do itself
    # What a dry run shows instead of the numbered steps, for a plan whose steps run
    # over many paths (the runbook has shown what each path would get).
    preview: str = ""
    # Why there is nothing to do, in a few words ("already trimmed"): a fleet rollout
    # groups the hosts that need nothing by it.
    idle: str = ""
    notes: list[str] = field(default_factory=list)  # shown before the plan, e.g. why idle
    # The host record (core.hostrecord) this plan takes back: the record of its own run
    # on the host says so, and the host then shows that record as undone.
    undoes: str = ""

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
        undo = shlex.join(step.undo) if step.undo else (
            f"(no automatic undo: {step.no_undo})" if step.no_undo else "(no automatic undo)")
        out.write(f"   undo: {undo}\n")
    for note in plan.manual:
        out.write(f"manual: {note}\n")


def record_change(runbook: str, target: Target, steps: list[dict[str, Any]]) -> int:
    """Journal changes made outside a Plan (e.g. irreversible ones); returns the id."""
    return _record(runbook, target, steps)


# --- how to reach a target again -------------------------------------------------------


def _absolute(path: str | None) -> str | None:
    return os.path.abspath(os.path.expanduser(path)) if path else None


def reach_of(target: Target) -> dict[str, Any] | None:
    """What reaching ``target`` again takes, for the journal; None for non-SSH targets.

    The address, port and user the connection used (for an inventory host: its
    ``ansible_host``/``ansible_port``/``ansible_user``, not the alias), and the
    known_hosts, key and ssh_config files, as absolute paths.
    """
    if not isinstance(target, SSHTarget):
        return None
    config = target.config or str(Path.home() / ".ssh" / "config")
    return {"host": target.host, "port": target.port, "user": target.user,
            "known_hosts": _absolute(target.known_hosts), "identity": _absolute(target.identity),
            "ssh_config": _absolute(config) if Path(config).is_file() else None}


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def target_of(entry: dict[str, Any], known_hosts: str | None = None,
              identity: str | None = None) -> Target:
    """The target a journal entry was made on, reached as it was then.

    ``known_hosts`` and ``identity`` given here win over the recorded ones. An
    entry written before the journal kept ``reach`` is resolved by its name, as
    then. Recorded values are data: host, user and port are validated again.
    """
    from .targets import parse_ssh_spec, select_targets

    kind, name, reach = entry["target_kind"], entry["target"], entry.get("reach")
    if kind != "ssh" or not isinstance(reach, dict) or not reach.get("host"):
        return select_targets(hosts=name if kind == "ssh" else None,
                              containers=name if kind == "container" else None,
                              known_hosts=known_hosts, identity=identity)[0]
    host = str(reach["host"])
    spec = (f"{reach['user']}@" if reach.get("user") else "") + (
        f"[{host}]" if ":" in host else host) + (f":{reach['port']}" if reach.get("port") else "")
    user, address, port = parse_ssh_spec(spec)
    config = _text(reach.get("ssh_config"))
    target = SSHTarget(address, port=port, user=user,
                       known_hosts=known_hosts or _text(reach.get("known_hosts")),
                       identity=identity or _text(reach.get("identity")),
                       config=config if config and Path(config).is_file() else None)
    target.name = name
    return target


# --- the journal file -------------------------------------------------------------------

_REPORTED: set[tuple[str, int, str]] = set()
_ID_IN_TEXT = re.compile(r'"id":\s*(\d+)')


@contextlib.contextmanager
def journal_lock() -> Iterator[None]:
    """Hold the journal's lock (an exclusive flock on changes.jsonl.lock) while inside."""
    path = journal_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        yield


_TEXT_FIELDS = ("time", "runbook", "target", "target_kind")


def _is_argv(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(a, str) for a in value)


def _is_step(value: Any) -> bool:
    return (isinstance(value, dict) and isinstance(value.get("description"), str)
            and _is_argv(value.get("argv"))
            and (value.get("undo") is None or _is_argv(value.get("undo"))))


def _is_entry(value: Any) -> bool:
    """Whether a parsed line has what listing and undoing a change need."""
    return (isinstance(value, dict) and type(value.get("id")) is int
            and all(isinstance(value.get(k), str) for k in _TEXT_FIELDS)
            and isinstance(value.get("steps"), list) and all(map(_is_step, value["steps"])))


def _parse_line(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return None
    return value if _is_entry(value) else None


def _report_damage(path: Path, number: int, line: str) -> None:
    key = (str(path), number, line)
    if key not in _REPORTED:
        _REPORTED.add(key)
        print(f"warning: {path}:{number}: damaged journal line, skipped (kept in the file "
              "as it is); the other changes are usable", file=sys.stderr)


def _read_lines(path: Path) -> list[tuple[str, dict[str, Any] | None]]:
    """Every non-blank line of the journal with its entry (None where the line is damaged)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        entry = _parse_line(line)
        if entry is None:
            _report_damage(path, number, line)
        lines.append((line, entry))
    return lines


def read_journal() -> list[dict[str, Any]]:
    """The journal's changes, oldest first; damaged lines are reported on stderr and skipped."""
    path = journal_path()
    try:
        lines = _read_lines(path)
    except OSError as exc:
        raise RunbookError(f"cannot read the journal {path}: {exc.strerror or exc}") from None
    return [entry for _, entry in lines if entry is not None]


def _next_id(lines: list[tuple[str, dict[str, Any] | None]]) -> int:
    """One more than any id in the journal, damaged lines included where an id is legible."""
    highest = 0
    for line, entry in lines:
        legible = _ID_IN_TEXT.search(line) if entry is None else None
        found = entry["id"] if entry is not None else int(legible.group(1)) if legible else 0
        highest = max(highest, found)
    return highest + 1


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` by ``text``: temporary file, fsync, rename, fsync of the directory.

    If anything fails on the way, the old file is untouched and the temporary
    file is removed. The new file keeps the old one's permissions.
    """
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with contextlib.suppress(FileNotFoundError):
            os.fchmod(fd, stat.S_IMODE(path.stat().st_mode))
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _fsync_dir(path.parent)


def _rewrite(path: Path, lines: list[str]) -> None:
    write_atomically(path, "".join(line + "\n" for line in lines))


def _dump(entry: dict[str, Any]) -> str:
    return json.dumps(entry, sort_keys=True)


def _record(runbook: str, target: Target, steps: list[dict[str, Any]],
            extra: dict[str, Any] | None = None) -> int:
    """Add a change to the journal under its lock; returns its id (unique across processes).

    ``extra`` adds fields, e.g. the rollout the change belongs to.
    """
    path = journal_path()
    try:
        with journal_lock():
            lines = _read_lines(path)
            change_id = _next_id(lines)
            entry = {"id": change_id, "time": _now(), "runbook": runbook, "target": target.name,
                     "target_kind": target.kind, "steps": steps, "undone": False,
                     **(extra or {})}
            reach = reach_of(target)
            if reach:
                entry["reach"] = reach
            _rewrite(path, [line for line, _ in lines] + [_dump(entry)])
    except OSError as exc:
        undo = "; ".join(shlex.join(s["undo"]) for s in reversed(steps) if s.get("undo"))
        raise RunbookError(
            f"{target.name}: changed, but the journal {path} could not be written "
            f"({exc.strerror or exc}); undo by hand on {target.name}: {undo or 'no undo'}"
        ) from None
    return change_id


def mark_undone(change_id: int) -> None:
    """Mark a change undone; every other line, damaged ones included, stays as it was."""
    try:
        update_entry(change_id, undone=_now())
    except OSError as exc:
        raise RunbookError(f"change {change_id} was undone, but the journal {journal_path()} "
                           f"could not be updated ({exc.strerror or exc}); it still lists the "
                           "change as applied") from None


def update_entry(entry_id: int, **fields: Any) -> None:
    """Set ``fields`` of one journal entry; every other line stays as it was (OSError passes)."""
    path = journal_path()
    with journal_lock():
        out = []
        for line, entry in _read_lines(path):
            if entry is not None and entry["id"] == entry_id:
                line = _dump({**entry, **fields})
            out.append(line)
        _rewrite(path, out)


def record_rollout(runbook: str, hosts: list[str], settings: dict[str, Any]) -> int:
    """Open a rollout in the journal (no steps of its own; its hosts' changes point to it)."""
    path = journal_path()
    try:
        with journal_lock():
            lines = _read_lines(path)
            rollout_id = _next_id(lines)
            entry = {"id": rollout_id, "time": _now(), "runbook": runbook,
                     "target": f"{len(hosts)} hosts", "target_kind": "rollout", "steps": [],
                     "undone": False, "hosts": {h: "planned" for h in hosts},
                     "state": "running", "settings": settings}
            _rewrite(path, [line for line, _ in lines] + [_dump(entry)])
    except OSError as exc:
        raise RunbookError(f"cannot write the journal {path} ({exc.strerror or exc}): "
                           "nothing changed") from None
    return rollout_id


def _journalled(step: Step) -> dict[str, Any]:
    record = {"description": step.description, "argv": list(step.argv),
              "undo": list(step.undo) if step.undo else None}
    if step.no_undo:
        record["no_undo"] = step.no_undo
    return record


async def _run_step(target: Target, step: Step, out: TextIO) -> tuple[list[dict[str, Any]], str]:
    """Run one step: its journal records, and why the plan must stop ("" if it may go on)."""
    if step.run is not None:
        try:
            outcome = await step.run(target)
        except RunbookError as exc:  # journal what the steps before it did, then stop
            outcome = Outcome(failure=str(exc))
        for line in outcome.lines:
            out.write(line + "\n")
        return outcome.records, outcome.failure and f"{step.description}: {outcome.failure}"
    result = await target.run(step.argv)
    if not (result.ok and (step.verify is None or await step.verify(target))):
        why = result.first_error_line() if not result.ok else "the change did not take"
        return [], f"{step.description}: {why}"
    out.write(f"done: {step.description}\n")
    return [_journalled(step)], ""


async def run_steps(plan: Plan, out: TextIO) -> tuple[list[dict[str, Any]], str]:
    """Run the plan's steps in order: the journal records of what ran, and why it stopped."""
    done: list[dict[str, Any]] = []
    for number, step in enumerate(plan.steps, 1):
        try:
            records, why = await _run_step(plan.target, step, out)
        except RunbookError as exc:  # e.g. the connection was lost: journal what ran before
            records, why = [], f"{step.description}: {exc}"
        done.extend(records)
        if why:
            return done, f"{plan.target.name}: stopped at step {number}: {why}"
    return done, ""


async def roll_back(target: Target, done: list[dict[str, Any]], out: TextIO) -> str:
    """Undo ``done`` on ``target``, last first; "" when all of it is undone, else why not."""
    for step in reversed(done):
        if not step.get("undo"):
            return f"{step['description']} has no undo ({step.get('no_undo') or 'none'})"
        result = await target.run(step["undo"])
        if not result.ok:
            return f"undo of {step['description']}: {result.first_error_line()}"
        out.write(f"undone: {step['description']}\n")
    return ""


async def record_run(plan: Plan, done: list[dict[str, Any]], state: str, why: str = "",
                     extra: dict[str, Any] | None = None) -> int:
    """Record the applied steps ``done`` of ``plan``: on the target itself (its host
    record, core.hostrecord: ``state`` is done, failed or rolled back), then in the
    journal, which keeps the host record's id or why it could not be written. Returns
    the journal id. A host record that cannot be written is a warning, not an error."""
    from . import hostrecord

    on_host = await hostrecord.write(plan.target, plan.runbook, done, state,
                                     why=why.removeprefix(f"{plan.target.name}: "),
                                     rollout=(extra or {}).get("rollout"),
                                     undoes=plan.undoes or None)
    return _record(plan.runbook, plan.target, done, {**(extra or {}), **on_host})


def _recorded(change_id: int, done: list[dict[str, Any]]) -> str:
    if any(step["undo"] for step in done):
        return f"recorded as change {change_id}; undo with: invoke changes.undo {change_id} --apply"
    reasons = list(dict.fromkeys(step["no_undo"] for step in done if step.get("no_undo")))
    if reasons:
        return f"recorded as change {change_id} ({'; '.join(reasons)})"
    return f"recorded as change {change_id}; it has no undo"


def _dry_run(plan: Plan, out: TextIO) -> None:
    if plan.preview and plan.steps:
        out.write(plan.preview)
        for note in plan.manual:
            out.write(f"manual: {note}\n")
        return
    print_plan(plan, out)
    if plan.steps:
        out.write("dry run: nothing changed; add --apply to make these changes\n")


async def apply_plan(plan: Plan, apply: bool, out: TextIO | None = None) -> int:
    """Print the plan, and run it when ``apply``. Returns the journal id (0 if nothing ran)."""
    out = out or sys.stdout
    if not apply:
        _dry_run(plan, out)
        return 0
    if not plan.steps:
        print_plan(plan, out)
        return 0
    done, failure = await run_steps(plan, out)
    change_id = 0
    if done:
        change_id = await record_run(plan, done, "failed" if failure else "done", failure)
        out.write(_recorded(change_id, done) + "\n")
    for note in plan.manual:
        out.write(f"manual: {note}\n")
    if failure:
        raise RunbookError(failure)
    return change_id
