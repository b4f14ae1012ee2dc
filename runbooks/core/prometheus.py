"""The Prometheus text exposition format, for node_exporter's textfile collector.

One run of a check becomes these series (every name starts with ``breaking_point_``):

- ``finding{runbook, check, target, subject}``: one gauge per finding whose value
  is the severity as a Nagios plugin exit status (0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN),
  so an alert rule reads ``== 2`` as critical. OK findings are written too: a
  problem that heals turns its series to 0 and the alert resolves, instead of
  the series vanishing. Two findings with the same labels keep the worse one.
- ``check_success{runbook, target}``: 1 when the check could look at the target,
  0 when it could not reach it or judged nothing there but UNKNOWN.
- ``check_duration_seconds{runbook}`` and ``check_last_run_timestamp_seconds{runbook}``.
- ``runbook_metric{runbook, name}``: the check's perfdata (what Nagios gets after ``|``).

Label values are escaped as the format requires (backslash, double quote and
line feed), so any mount point or file name is safe. :func:`write_textfile` writes
the file the way the collector needs it: a temporary file in the same folder,
then renamed over the old one, so a scrape never reads half a file.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path
from typing import TextIO

from .errors import UsageError
from .findings import Report, Severity

PREFIX = "breaking_point_"
HELP = {
    "finding": "Severity of one finding as a Nagios exit status: 0 OK, 1 WARN, 2 CRIT, "
               "3 UNKNOWN.",
    "check_success": "1 if the check could look at the target, 0 if it could not.",
    "check_duration_seconds": "How long the check ran, in seconds.",
    "check_last_run_timestamp_seconds": "When the check last ran, as a Unix time.",
    "runbook_metric": "A figure the check measured (its Nagios perfdata).",
}


def escape_label(value: str) -> str:
    """A label value as the text format writes it between double quotes."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def labels(**pairs: str) -> str:
    return "{" + ",".join(f'{k}="{escape_label(str(v))}"' for k, v in pairs.items()) + "}"


def _number(value: float) -> str:
    return repr(float(value)) if value != int(value) else str(int(value))


def _family(out: TextIO, name: str, lines: list[str]) -> None:
    if not lines:
        return
    out.write(f"# HELP {PREFIX}{name} {HELP[name]}\n# TYPE {PREFIX}{name} gauge\n")
    out.writelines(lines)


def _findings(report: Report) -> list[str]:
    worst: dict[tuple[str, str, str], Severity] = {}
    for f in report.findings:
        key = (f.check, f.target, f.subject)
        worst[key] = max(worst.get(key, Severity.OK), f.severity)
    return [f"{PREFIX}finding{labels(runbook=report.name, check=c, target=t, subject=s)} "
            f"{sev.exit_code}\n" for (c, t, s), sev in worst.items()]


def _success(report: Report) -> list[str]:
    lines = []
    for target in report.targets or sorted({f.target for f in report.findings}):
        mine = [f for f in report.findings if f.target == target]
        blind = any(f.check.endswith(".reach") for f in mine) or not mine or all(
            f.severity is Severity.UNKNOWN for f in mine)
        lines.append(f"{PREFIX}check_success{labels(runbook=report.name, target=target)} "
                     f"{0 if blind else 1}\n")
    return lines


def render_prometheus(report: Report, out: TextIO) -> None:
    """Write ``report`` as Prometheus text exposition (no timestamps: the collector's)."""
    runbook = labels(runbook=report.name)
    _family(out, "finding", _findings(report))
    _family(out, "check_success", _success(report))
    _family(out, "check_duration_seconds",
            [f"{PREFIX}check_duration_seconds{runbook} "
             f"{round(time.monotonic() - report.started, 3)}\n"])
    _family(out, "check_last_run_timestamp_seconds",
            [f"{PREFIX}check_last_run_timestamp_seconds{runbook} {int(time.time())}\n"])
    _family(out, "runbook_metric",
            [f"{PREFIX}runbook_metric{labels(runbook=report.name, name=k)} {_number(v)}\n"
             for k, v in report.metrics.items()])


TEXTFILE_NAME = re.compile(r"[^A-Za-z0-9_.-]")


def textfile_path(directory: str, runbook: str) -> Path:
    """``DIR/breaking_point_RUNBOOK.prom``; the folder must exist (the collector's)."""
    folder = Path(directory)
    if not folder.is_dir():
        raise UsageError(f"--textfile-dir {directory}: no such directory")
    return folder / f"breaking_point_{TEXTFILE_NAME.sub('_', runbook)}.prom"


def write_textfile(report: Report, directory: str) -> Path:
    """Write the report for the textfile collector: temporary file, then rename."""
    path = textfile_path(directory, report.name)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            render_prometheus(report, f)
        os.chmod(tmp, 0o644)  # node_exporter usually runs as its own user
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"--textfile-dir {directory}: cannot write {path.name}: "
                         f"{exc.strerror or exc}") from None
    return path
