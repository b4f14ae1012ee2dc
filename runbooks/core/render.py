"""Renderers: one report, four audiences. Each returns the exit status to use.

- ``table``: rich table for a human at a terminal (plain text when piped), after
  the report's ``details`` lines (a listing of everything checked, for example).
- ``json``: every finding with its data, for scripts.
- ``nagios``: one status line with perfdata, then long output (plugin API).
- ``checkmk``: local-check lines, one service per subject; several targets
  become piggyback sections so each host gets its own services.
- ``prometheus``: text exposition for node_exporter's textfile collector
  (runbooks/core/prometheus.py).
"""

from __future__ import annotations

import json
import sys
from collections import OrderedDict
from typing import TextIO

from .errors import UsageError
from .findings import Finding, Report, Severity

FORMATS = ("table", "json", "nagios", "checkmk", "prometheus")
FORMAT_HELP = (
    "Output: table (default), json, nagios (status line + perfdata), checkmk "
    "(local-check lines) or prometheus (text exposition for node_exporter's textfile "
    "collector). The exit status is the worst severity: 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN."
)

_STYLE = {
    Severity.OK: "green",
    Severity.WARN: "yellow",
    Severity.CRIT: "bold red",
    Severity.UNKNOWN: "magenta",
}


def check_format(fmt: str | None) -> str:
    fmt = (fmt or "table").lower()
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    return fmt


def render(report: Report, fmt: str, out: TextIO | None = None) -> int:
    """Write ``report`` to ``out`` in ``fmt`` and return the exit status."""
    out = out or sys.stdout
    {
        "table": render_table,
        "json": render_json,
        "nagios": render_nagios,
        "checkmk": render_checkmk,
        "prometheus": _render_prometheus,
    }[check_format(fmt)](report, out)
    return report.worst.exit_code


def _render_prometheus(report: Report, out: TextIO) -> None:
    from .prometheus import render_prometheus  # lazy: only this format needs it

    render_prometheus(report, out)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _summary(report: Report) -> str:
    count = report.checked if report.checked is not None else len(report.subjects)
    checked = _plural(count, report.noun)
    if not report.problems and report.ok_text:
        return f"{report.title}: {checked} checked, {report.ok_text}"
    if not report.problems:
        return f"{report.title}: {checked} checked, all OK" if report.noun else (
            f"{report.title}: OK")
    parts = [
        f"{report.count(sev)} {sev.name}"
        for sev in (Severity.CRIT, Severity.UNKNOWN, Severity.WARN)
        if report.count(sev)
    ]
    if not report.noun:
        return f"{report.title}: {', '.join(parts)}" + _per_target(report)
    return f"{report.title}: {', '.join(parts)} ({checked} checked)" + _per_target(report)


def _per_target(report: Report) -> str:
    """For several targets: how many ended OK, WARN, ... or unreachable."""
    if len(report.targets) < 2:
        return ""
    worst: dict[str, Severity] = dict.fromkeys(report.targets, Severity.OK)
    unreachable = set()
    for f in report.findings:
        if f.check.endswith(".reach"):
            unreachable.add(f.target)
        elif f.target in worst:
            worst[f.target] = max(worst[f.target], f.severity)
    counts = [f"{sum(1 for t, s in worst.items() if s is sev and t not in unreachable)} "
              f"{sev.name}" for sev in Severity]
    counts = [c for c in counts if not c.startswith("0 ")]
    if unreachable:
        counts.append(f"{len(unreachable)} unreachable")
    return f"; targets: {', '.join(counts)}"


def _by_subject(
    findings: list[Finding], key: str = "subject"
) -> OrderedDict[tuple[str, str], list[Finding]]:
    groups: OrderedDict[tuple[str, str], list[Finding]] = OrderedDict()
    for f in findings:
        groups.setdefault((f.target, getattr(f, key)), []).append(f)
    return groups


NAGIOS_SUBJECTS = 5  # a status line naming thousands of files helps nobody


def render_table(report: Report, out: TextIO) -> None:
    from rich.console import Console  # lazy: rich costs ~100 ms to import
    from rich.table import Table

    for line in report.details:  # as they are: neither markup nor wrapping applies
        out.write(line + "\n")
    console = Console(file=out, highlight=False, soft_wrap=False)
    problems = sorted(report.problems, key=lambda f: (-f.severity, f.target, f.subject))
    if problems:
        multi_target = len(report.targets) > 1
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        table.add_column("SEVERITY")
        if multi_target:
            table.add_column("TARGET")
        table.add_column("SUBJECT", overflow="fold")
        table.add_column("PROBLEM", overflow="fold")
        for f in problems:
            row = [f"[{_STYLE[f.severity]}]{f.severity.name}[/]"]
            if multi_target:
                row.append(f.target)
            row += [f.subject or "-", f.message]
            table.add_row(*row)
        console.print(table)
        explained: dict[str, Finding] = {}
        for f in problems:
            if f.why:
                explained.setdefault(f.check, f)
        for f in explained.values():
            console.print(f"\n[bold]{f.check}[/]: {f.why}", soft_wrap=True)
            if f.url:
                console.print(f"  see {f.url}", soft_wrap=True)
        console.print()
    console.print(_summary(report), soft_wrap=True)


def render_json(report: Report, out: TextIO) -> None:
    doc = {
        "runbook": report.name,
        "status": report.worst.name,
        "exit_code": report.worst.exit_code,
        "summary": _summary(report),
        "targets": report.targets,
        "metrics": report.metrics,
        "findings": [f.as_dict() for f in report.findings],
    }
    json.dump(doc, out, indent=2, sort_keys=False)
    out.write("\n")


def _perf_name(name: str) -> str:
    # Nagios perfdata labels with spaces or '=' must be quoted.
    return f"'{name}'" if any(c in name for c in " ='") else name


def one_line(text: str) -> str:
    """``text`` safe for a line-based monitoring protocol: line breaks shown, not made."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def render_nagios(report: Report, out: TextIO) -> None:
    worst = report.worst
    problems = sorted(report.problems, key=lambda f: (-f.severity, f.target, f.subject))
    if problems:
        multi_target = len(report.targets) > 1
        shown = []
        groups = _by_subject(problems)
        for (target, subject), group in list(groups.items())[:NAGIOS_SUBJECTS]:
            where = " ".join(p for p in (target if multi_target else "", subject) if p)
            messages = ", ".join(f.message for f in group)
            shown.append(f"{where}: {messages}" if where else messages)
        if len(groups) > NAGIOS_SUBJECTS:
            shown.append(f"and {len(groups) - NAGIOS_SUBJECTS} more")
        text = "; ".join(shown)
    else:
        text = _summary(report)
    accepted = [f for f in report.findings if f.data.get("accepted")]
    if accepted:  # accepted risks stay visible, never silently green
        text += "; accepted risks: " + ", ".join(
            f"{f.subject} {f.data.get('option', f.message)}" for f in accepted
        )
    perf = " ".join(f"{_perf_name(k)}={v:g}" for k, v in report.metrics.items())
    label = report.name.split(".")[0].upper()
    line = f"{label} {worst.nagios} - {text}"
    out.write(one_line(line).replace("|", "/") + (f" | {perf}" if perf else "") + "\n")
    for f in problems:  # long output: one line per finding, with its page
        where = " ".join(p for p in (f.target, f.subject) if p)
        out.write(one_line(f"[{f.severity.name}] {where}: {f.message}").replace("|", "/"))
        out.write(f" ({f.url})\n" if f.url else "\n")


def render_checkmk(report: Report, out: TextIO) -> None:
    groups = _by_subject(report.findings, "service")
    piggyback = len(report.targets) > 1
    current_target = None
    for (target, subject), findings in groups.items():
        if piggyback and target != current_target:
            if current_target is not None:
                out.write("<<<<>>>>\n")
            out.write(f"<<<<{target}>>>>\n<<<local:sep(0)>>>\n")
            current_target = target
        worst = max(f.severity for f in findings)
        bad = [f for f in findings if f.severity is not Severity.OK]
        counts = f"crit={sum(f.severity is Severity.CRIT for f in findings)}"
        counts += f"|warn={sum(f.severity is Severity.WARN for f in findings)}"
        text = "; ".join(
            (f"{f.subject}: " if f.subject != subject else "") + f.message
            for f in (bad or findings)
        )
        text = one_line(text)
        service = one_line(f"{report.title} {subject}".strip().replace('"', "'"))
        out.write(f'{worst.exit_code} "{service}" {counts} {worst.nagios} - {text}\n')
    if piggyback and current_target is not None:
        out.write("<<<<>>>>\n")
