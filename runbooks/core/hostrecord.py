"""The host record: what was done to a host, kept on that host, for any operator anywhere.

The change journal (core.changes) lives on the machine that ran ``--apply``; an
operator at another machine cannot see it. So every applied plan also appends
one JSON line to a file on the changed target itself (``HOST_RECORD``;
``BP_HOST_RECORD`` names another path, the same on every target): its id (time
and random, unique without coordination), time, runbook, rollout, who ran it
from where (user and host of the controlling machine), every applied step with
its command and its undo (or why it has none), and the state the run left:
``done``, ``failed`` (stopped part way; the applied steps stay) or ``rolled
back`` (failed, and its applied steps were undone). An undo's own line names the
record it undoes (``undoes``); a record with a completed undo shows as undone.

The file is only ever appended to, by ``sh -c`` with the line as an argument
(never in the script's text): a mount point with quotes, ``$(...)`` or a newline
goes over as data. Its folder is created 0700 and the file 0600 (umask 077):
argv and undo commands can name paths an unprivileged user should not learn.
It lives under /var/log, as apt's history.log does, and not next to the login
manifest: undoing a trim removes the manifest's folder, and the record of that
undo must survive it. A line that does not parse is reported with its number
and left in the file; the other records stay usable.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import re
import secrets
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .errors import RunbookError
from .targets import Target

HOST_RECORD = "/var/log/breaking-point/changes.jsonl"
STATES = ("done", "failed", "rolled back")
RECORD_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")
LAST = "last"  # the newest record still in place
# Appends its arguments to the file ($2) in its folder ($1): data never meets the script.
APPEND = 'umask 077 && mkdir -p -- "$1" && f=$2 && shift 2 && printf "%s" "$@" >> "$f"'
# Missing is no error (exit 10: nothing recorded yet); unreadable is.
READ = 'test -e "$1" || exit 10; cat -- "$1"'
# One argument's size: an SSH command is one argument of the remote shell (128 KiB at
# most on Linux), and quoting may blow a JSON text up fivefold.
CHUNK = 16 * 1024


def record_path() -> str:
    """Where the record is kept on every target."""
    return os.environ.get("BP_HOST_RECORD") or HOST_RECORD


def new_id(now: dt.datetime | None = None) -> str:
    """``20261201T022000Z-3f9a1c``: sortable by time, unique by its random part."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def controller() -> dict[str, str]:
    """Who is making the change, from where: this machine's user and host name."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a uid without a passwd entry, as in some containers
        user = str(os.getuid())
    return {"user": user, "host": socket.gethostname()}


def make_record(runbook: str, target: Target, steps: list[dict[str, Any]], state: str,
                **fields: Any) -> dict[str, Any]:
    """One host record (``fields``: rollout, why, undoes; None values are left out)."""
    from .changes import _now

    record = {"id": new_id(), "time": _now(), "runbook": runbook, "target": target.name,
              "by": controller(), "state": state, "steps": steps}
    record.update({k: v for k, v in fields.items() if v not in (None, "")})
    return record


def _chunks(text: str) -> list[str]:
    return [text[i:i + CHUNK] for i in range(0, len(text), CHUNK)] or [""]


async def append(target: Target, record: dict[str, Any]) -> None:
    """Append ``record`` as one line to the target's record; RunbookError (one line) when
    it cannot be written. A record larger than one argument goes over in pieces, into
    a part file that is then appended whole, so a reader never sees half a line."""
    path = record_path()
    folder = os.path.dirname(path) or "."
    line = json.dumps(record, sort_keys=True) + "\n"  # ensure_ascii: one line, always
    pieces = _chunks(line)
    where = path if len(pieces) == 1 else f"{path}.{record['id']}.part"
    for piece in pieces:
        await _run_ok(target, ["sh", "-c", APPEND, "sh", folder, where, piece], path)
    if where != path:
        await _run_ok(target, ["sh", "-c", 'cat -- "$1" >> "$2" && rm -f -- "$1"', "sh",
                               where, path], path)


async def _run_ok(target: Target, argv: list[str], path: str) -> None:
    result = await target.run(argv)
    if not result.ok:
        raise RunbookError(f"{path}: {result.first_error_line()}")


async def write(target: Target, runbook: str, steps: list[dict[str, Any]], state: str,
                **fields: Any) -> dict[str, str]:
    """Record a run on the target; the fields the journal keeps about it: the record's id,
    or why there is none (then a one-line warning is printed on stderr, and the change
    is still reported)."""
    import sys

    record = make_record(runbook, target, steps, state, **fields)
    try:
        await append(target, record)
    except RunbookError as exc:  # the target's own errors name it already
        why = str(exc).removeprefix(f"{target.name}: ")
        print(f"warning: {target.name}: changed, but not recorded on the host ({why}); "
              "the local journal says so", file=sys.stderr)
        return {"host_record_missing": why}
    return {"host_record": record["id"]}


# --- reading ----------------------------------------------------------------------------


def _is_record(value: Any) -> bool:
    from .changes import _is_step

    return (isinstance(value, dict) and isinstance(value.get("id"), str)
            and bool(RECORD_ID.match(value["id"]))
            and all(isinstance(value.get(k), str) for k in ("time", "runbook", "state"))
            and isinstance(value.get("steps"), list) and all(map(_is_step, value["steps"])))


@dataclass
class HostRecord:
    """A host's record as read: its records, oldest first, and its damaged lines."""

    path: str
    records: list[dict[str, Any]] = field(default_factory=list)
    damaged: list[tuple[int, str]] = field(default_factory=list)  # (line number, text)

    def undone_by(self) -> dict[str, dict[str, Any]]:
        """Record id -> the completed undo that took it back."""
        return {r["undoes"]: r for r in self.records
                if r.get("undoes") and r["state"] == "done"}

    def find(self, wanted: str) -> dict[str, Any] | None:
        """The record with id ``wanted``; for ``last``, the newest still in place (not
        undone, not rolled back: an undo's own record may be it, as in the journal)."""
        if wanted == LAST:
            undone = self.undone_by()
            return next((r for r in reversed(self.records) if r["id"] not in undone
                         and r["state"] != "rolled back"), None)
        return next((r for r in self.records if r["id"] == wanted), None)


def parse(text: str, path: str = HOST_RECORD) -> HostRecord:
    """The records of a host record's text; a damaged line is kept aside, never dropped."""
    found = HostRecord(path)
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            value = None
        if _is_record(value):
            found.records.append(value)
        else:
            found.damaged.append((number, line))
    return found


async def read(target: Target) -> HostRecord:
    """The target's record (empty when it has none yet); RunbookError when unreadable."""
    path = record_path()
    result = await target.run(["sh", "-c", READ, "sh", path])
    if result.exit_status == 10:
        return HostRecord(path)
    if not result.ok:
        raise RunbookError(f"{target.name}: cannot read {path}: {result.first_error_line()}")
    return parse(result.stdout, path)


# --- showing ----------------------------------------------------------------------------


def undo_text(step: dict[str, Any]) -> str:
    import shlex

    if step.get("undo"):
        return shlex.join(step["undo"])
    return f"none ({step['no_undo']})" if step.get("no_undo") else "none"


def status(record: dict[str, Any], undone_by: dict[str, dict[str, Any]]) -> str:
    """``done``, ``failed: why``, ``rolled back: why``, ``undone TIME``..."""
    state = record["state"] + (f": {record['why']}" if record.get("why") else "")
    undo = undone_by.get(record["id"])
    return f"{state}; undone {undo['time']} ({undo['id']})" if undo else state


def why_not_undoable(record: dict[str, Any], undone_by: dict[str, dict[str, Any]]) -> str:
    """Why ``record`` cannot be undone from the host ("" when it can)."""
    if record["id"] in undone_by:
        undo = undone_by[record["id"]]
        return f"already undone at {undo['time']} (record {undo['id']})"
    if record["state"] == "rolled back":
        return "its steps were rolled back when it failed: nothing to undo"
    if not any(step.get("undo") for step in record["steps"]):
        reasons = [step.get("no_undo") or step["description"] for step in record["steps"]]
        return "no step has an undo: " + "; ".join(dict.fromkeys(reasons))
    return ""


def lines(target_name: str, found: HostRecord, option: str) -> Iterable[str]:
    """The host's record for a person: each record, its steps and undos, and how to undo."""
    if not found.records and not found.damaged:
        yield f"{target_name}: no changes recorded on the host ({found.path})"
        return
    count = len(found.records)
    yield f"{target_name}: {count} record{'' if count == 1 else 's'} in {found.path}"
    for number, _ in found.damaged:
        yield f"  line {number}: damaged, skipped (kept in the file as it is)"
    undone_by = found.undone_by()
    for record in found.records:
        rollout = f", rollout {record['rollout']}" if record.get("rollout") else ""
        by = record.get("by") if isinstance(record.get("by"), dict) else {}
        yield f"  {record['time']}  {record['runbook']}  {status(record, undone_by)}"
        who = f"{by.get('user', '?')}@{by.get('host', '?')}"
        yield f"      record {record['id']}, by {who}{rollout}"
        for step in record["steps"]:
            yield f"      - {step['description']}"
            yield f"        undo: {undo_text(step)}"
        blocked = why_not_undoable(record, undone_by)
        if not blocked:
            yield f"      undo with: invoke changes.undo {record['id']} {option} --apply"
