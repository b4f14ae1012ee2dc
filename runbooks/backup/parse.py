"""Parse what a Bacula or Bareos director says through bconsole (pure functions).

Bacula 9.6 is read from one non-interactive bconsole session (see
:mod:`runbooks.backup.collect`): ``.jobs type=B``, ``.clients``, one ``.sql``
query on the Job table and ``.status dir running`` in ``.api 2`` mode.
Bareos answers ``.api 2`` with JSON-RPC objects; :func:`parse_bareos_api`
reads those.

Relax-and-Recover (``backup.rear-check``): the probe script's two lines,
``rear -v checklayout``'s verdict and ``md5sum -c`` of the checksums saved with
the layout; see the end of this module.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..core.errors import ParseError

# Marks around every row of our .sql query: Bacula 9.6 prints the rows of
# `.sql` with a tab after every field and no line breaks between rows.
ROW_START, LOG_START, ROW_END = "BPROW", "BPLOG", "BPEOR"
SQL_COLUMNS = ("jobid", "name", "client", "type", "level", "status", "start", "end",
               "tdate", "errors", "files", "bytes")


@dataclass(frozen=True)
class JobRun:
    """One job of the catalog: a run of a job definition on a client."""

    jobid: int
    name: str
    client: str
    type: str
    level: str
    status: str
    start: str
    end: str
    tdate: int  # JobTDate: epoch seconds of the end (of the start while it runs)
    errors: int = 0
    files: int = 0
    bytes: int = 0

    @property
    def end_epoch(self) -> int:
        """When the run ended, in the director's clock (epoch seconds, no time zone)."""
        return self.tdate


@dataclass(frozen=True)
class RunningJob:
    """A job the director is working on or waiting with now."""

    jobid: int
    name: str
    client: str
    status: str
    description: str
    start_epoch: int


@dataclass
class DirectorState:
    """Everything backup.status judges, as one director told it."""

    system: str  # "bacula" or "bareos"
    version: str = ""
    definitions: list[str] = field(default_factory=list)  # backup job names
    clients: list[str] = field(default_factory=list)
    runs: list[JobRun] = field(default_factory=list)
    running: list[RunningJob] = field(default_factory=list)
    now: int = 0
    reasons: dict[int, str] = field(default_factory=dict)  # JobId -> first fatal error


def _int(text: str | None) -> int:
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        return 0


def _sections(text: str) -> dict[str, list[str]]:
    """Output lines of a bconsole session, grouped under the command line echoed before them."""
    sections: dict[str, list[str]] = {}
    current = "(banner)"
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith((".jobs", ".clients", ".sql ", ".api ", ".status ")):
            current = stripped.split(" query=")[0] if stripped.startswith(".sql") else stripped
            sections.setdefault(current, [])
            continue
        sections.setdefault(current, []).append(line)
    return sections


def _marked_rows(text: str) -> list[tuple[str, list[str]]]:
    """(mark, fields) of every row between a start mark (BPROW, BPLOG) and BPEOR."""
    rows: list[tuple[str, list[str]]] = []
    mark, row = "", []
    for token in re.split(r"[\t\n]", text):
        if token in (ROW_START, LOG_START):
            mark, row = token, []
        elif token == ROW_END and mark:
            rows.append((mark, row))
            mark = ""
        elif mark:
            row.append(token)
    return rows


# Fatal errors that follow from another daemon's failure rather than name a cause:
# the file daemon's lost connection when the storage daemon ended the job (whose
# own message, such as "Out of freespace", reaches the catalog first or second).
_CONSEQUENCES = re.compile(r"^(Network send error|Network error with)")


def parse_fatal_lines(text: str) -> dict[int, str]:
    """The first fatal error logged for each JobId that names a cause, from our `.sql`
    log query (BPLOG rows); a lost connection only when nothing else was logged.

    Log text spans lines, so its pieces are joined; the daemon prefix and the
    source location are dropped: "Unable to connect to Client: fd2-fd on fd2:9102 ...".
    """
    messages: dict[int, list[str]] = {}
    for mark, row in _marked_rows(text):
        if mark != LOG_START or not row:
            continue
        # Bacula ends each embedded line of a log entry with a backslash.
        message = " ".join(part.strip(" \\") for part in row[1:] if part.strip(" \\"))
        message = re.sub(r"^.*?JobId \d+: Fatal error: ", "", message)
        message = re.sub(r"^\w+\.c:\d+ ", "", message)
        messages.setdefault(_int(row[0]), []).append(message)
    return {jobid: next((m for m in found if not _CONSEQUENCES.match(m)), found[0])
            for jobid, found in messages.items()}


def parse_sql_rows(text: str) -> list[JobRun]:
    """Rows of our `.sql` job query, found between their BPROW and BPEOR marks."""
    runs = []
    for mark, row in _marked_rows(text):
        if mark == ROW_START:
            if len(row) != len(SQL_COLUMNS):
                raise ParseError(f"bconsole .sql: a job row has {len(row)} fields, "
                                 f"expected {len(SQL_COLUMNS)}")
            values = dict(zip(SQL_COLUMNS, row, strict=True))
            runs.append(JobRun(
                jobid=_int(values["jobid"]), name=values["name"], client=values["client"],
                type=values["type"], level=values["level"], status=values["status"],
                start=values["start"], end=values["end"], tdate=_int(values["tdate"]),
                errors=_int(values["errors"]), files=_int(values["files"]),
                bytes=_int(values["bytes"]),
            ))
    return runs


def parse_api2_blocks(lines: list[str]) -> list[dict[str, str]]:
    """Bacula's `.api 2` key=value blocks (one per job, blank-line separated)."""
    blocks, current = [], {}
    for line in lines:
        if "=" in line and not line.startswith(" "):
            key, _, value = line.partition("=")
            if key == "jobid" and current:
                blocks.append(current)
                current = {}
            current[key.strip()] = value.strip()
        elif not line.strip() and current:
            blocks.append(current)
            current = {}
    if current:
        blocks.append(current)
    return [b for b in blocks if "jobid" in b]


def _running(blocks: list[dict[str, str]]) -> list[RunningJob]:
    return [RunningJob(jobid=_int(b.get("jobid")), name=b.get("name", ""),
                       client=b.get("clientname", b.get("client", "")),
                       status=b.get("status", b.get("jobstatus", "")),
                       description=b.get("status_desc", ""),
                       start_epoch=_int(b.get("starttime_epoch"))) for b in blocks]


def _names(lines: list[str]) -> list[str]:
    return [line.strip() for line in lines if line.strip()
            and not line.startswith(("Using Catalog", "Automatically selected"))]


def _check_errors(text: str) -> None:
    for line in text.splitlines():
        if line.startswith("Query failed:"):
            raise ParseError(f"bconsole: {line.split('ERR=')[-1].strip()}")
        if "You have no messages" in line:
            continue


def parse_bacula_session(text: str, now: int = 0) -> DirectorState:
    """The state of a Bacula director from the output of our bconsole session."""
    if "1000 OK" not in text:
        raise ParseError("bconsole: the director did not answer (no '1000 OK' greeting)")
    _check_errors(text)
    sections = _sections(text)
    version = ""
    match = re.search(r"1000 OK:.*?Version:\s*(\S+)", text)
    if match:
        version = match.group(1)
    sql_text = "\n".join(sections.get(".sql", []))
    if ".sql" not in sections:
        raise ParseError("bconsole: the session has no answer to the job query")
    return DirectorState(
        system="bacula", version=version,
        definitions=_names(sections.get(".jobs type=B", [])),
        clients=_names(sections.get(".clients", [])),
        runs=parse_sql_rows(sql_text),
        running=_running(parse_api2_blocks(sections.get(".status dir running", []))),
        now=now, reasons=parse_fatal_lines(sql_text),
    )


def _json_objects(text: str) -> list[dict]:
    """Every top-level JSON object in text (bconsole prints one per command)."""
    decoder, objects, index = json.JSONDecoder(), [], 0
    while True:
        start = text.find("{", index)
        if start < 0:
            return objects
        try:
            obj, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            index = start + 1
            continue
        if isinstance(obj, dict):
            objects.append(obj)
        index = end


def parse_bareos_api(text: str, now: int = 0) -> DirectorState:
    """The state of a Bareos director from `.api 2` answers.

    Expects the answers to `.jobs type=B`, `.clients`, `llist jobs last` (the
    last run of every job) and optionally `llist jobs days=N` for recent
    errors, in that order, as JSON-RPC objects.
    """
    state = DirectorState(system="bareos", now=now)
    seen: set[int] = set()
    for obj in _json_objects(text):
        if "error" in obj:
            error = obj["error"]
            message = error.get("message", "") if isinstance(error, dict) else str(error)
            raise ParseError(f"bareos director: {message or 'error answer'}")
        result = obj.get("result")
        if not isinstance(result, dict):
            continue
        if "clients" in result:
            state.clients = [c.get("name", "") for c in result["clients"]]
        jobs = result.get("jobs")
        if not isinstance(jobs, list):
            continue
        if jobs and set(jobs[0]) <= {"name", "type", "enabled"}:
            state.definitions = [j.get("name", "") for j in jobs]
            continue
        for job in jobs:
            run = JobRun(
                jobid=_int(job.get("jobid")), name=job.get("name", ""),
                client=job.get("client", job.get("clientname", "")),
                type=job.get("type", ""), level=job.get("level", ""),
                status=job.get("jobstatus", ""), start=job.get("starttime", "") or "",
                end=job.get("realendtime") or job.get("endtime") or "",
                tdate=_int(job.get("jobtdate")), errors=_int(job.get("joberrors")),
                files=_int(job.get("jobfiles")), bytes=_int(job.get("jobbytes")),
            )
            if run.jobid not in seen:
                seen.add(run.jobid)
                state.runs.append(run)
    state.running = [RunningJob(r.jobid, r.name, r.client, r.status, "", r.tdate)
                     for r in state.runs if r.status in RUNNING_CODES]
    return state


# Catalog JobStatus codes: (meaning, kind). Kinds: ok, warning, error, running, waiting.
JOB_STATUS: dict[str, tuple[str, str]] = {
    "T": ("completed successfully", "ok"),
    "W": ("terminated with warnings", "warning"),
    "e": ("non-fatal error", "warning"),
    "E": ("terminated with errors", "error"),
    "f": ("fatal error", "error"),
    "A": ("canceled", "canceled"),
    "I": ("incomplete", "error"),
    "D": ("verify found differences", "warning"),
    "C": ("created, not yet running", "running"),
    "R": ("running", "running"),
    "B": ("blocked", "waiting"),
    "L": ("committing data", "running"),
    "l": ("despooling data", "running"),
    "a": ("despooling attributes", "running"),
    "i": ("inserting file records", "running"),
    "q": ("queued, waiting for a device", "waiting"),
    "F": ("waiting for the file daemon", "waiting"),
    "S": ("waiting for the storage daemon", "waiting"),
    "m": ("waiting for a new volume", "media"),
    "M": ("waiting for a volume mount", "media"),
    "s": ("waiting for a storage resource", "waiting"),
    "j": ("waiting for a job resource", "waiting"),
    "c": ("waiting for a client resource", "waiting"),
    "d": ("waiting on maximum jobs", "waiting"),
    "t": ("waiting for its start time", "waiting"),
    "p": ("waiting for higher priority jobs", "waiting"),
}
RUNNING_CODES = {code for code, (_, kind) in JOB_STATUS.items()
                 if kind in ("running", "waiting", "media")}


def describe_status(code: str) -> str:
    meaning, _ = JOB_STATUS.get(code, (f"unknown status {code!r}", "unknown"))
    return meaning


def status_kind(code: str) -> str:
    return JOB_STATUS.get(code, ("", "unknown"))[1]


# --- Relax-and-Recover -------------------------------------------------------------------

IDENTICAL = "Disk layout is identical"  # what rear -v checklayout says when nothing changed


@dataclass(frozen=True)
class RearProbe:
    rear: str  # path of the rear program, "" when not installed
    layout_saved: datetime | None  # mtime of disklayout.conf; None: no saved layout


@dataclass(frozen=True)
class CheckLayout:
    """What one ``rear -v checklayout`` said."""

    layout_changed: bool
    config_changed: bool
    error: str = ""  # the ERROR line when rear failed instead of comparing

    @property
    def changed(self) -> bool:
        return self.layout_changed or self.config_changed


def parse_rear_probe(text: str) -> RearProbe:
    """The probe script's two lines: ``rear<TAB>PATH`` and ``layout<TAB>MTIME<TAB>LINE``."""
    fields = {}
    for line in text.splitlines():
        kind, _, rest = line.partition("\t")
        fields[kind] = rest.split("\t")
    if "rear" not in fields or "layout" not in fields:
        raise ParseError(f"rear probe: unexpected output {text.strip()[:80]!r}")
    mtime = fields["layout"][0]
    if mtime and not mtime.isdigit():
        raise ParseError(f"rear probe: bad layout time {mtime!r}")
    saved = datetime.fromtimestamp(int(mtime), UTC) if mtime else None
    return RearProbe(fields["rear"][0], saved)


def _error_line(stdout: str, stderr: str, status: int) -> str:
    for text in (stderr, stdout):
        for line in text.splitlines():
            if line.startswith("ERROR:"):
                return line.strip()
    for line in stderr.splitlines():
        if line.strip():
            return line.strip()
    return f"exit status {status}"


def parse_checklayout(status: int, stdout: str, stderr: str) -> CheckLayout:
    """Map ``rear -v checklayout``'s exit status and messages to a result.

    Exit 1 is both "something changed" and rear's ordinary error status (not root,
    unknown workflow), so the messages decide: only "Disk layout has changed" or
    "Configuration files have changed." make it a change. Exit 0 counts as
    unchanged only with "Disk layout is identical" printed: a run that compared
    nothing (no output at all) must not read as OK.
    """
    layout = "Disk layout has changed" in stdout
    config = "Configuration files have changed" in stdout
    if status == 0 and IDENTICAL in stdout:
        return CheckLayout(False, False)
    if status == 0:
        return CheckLayout(False, False, f"no verdict: it did not print '{IDENTICAL}'")
    if status == 1 and (layout or config):
        return CheckLayout(layout, config)
    return CheckLayout(False, False, _error_line(stdout, stderr, status))


def parse_md5sum_check(text: str) -> list[str]:
    """Files that ``md5sum -c --quiet`` reports as changed or unreadable."""
    changed = []
    for line in text.splitlines():
        name, sep, verdict = line.rpartition(": ")
        if sep and verdict.startswith("FAILED"):
            changed.append(name + (" (gone)" if "open or read" in verdict else ""))
    return changed
