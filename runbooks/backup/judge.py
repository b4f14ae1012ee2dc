"""Judge a director's state: one finding per (job, client) pair and per idle client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..core.findings import Finding, Severity
from .parse import CheckLayout, DirectorState, JobRun, RearProbe, describe_status, status_kind

PAGE = "runbooks/backup-status/"
CHECK = "backup.status"
WHY = "a backup that did not finish is no backup; the restore you need is the one that is missing"
_KIND_SEVERITY = {"ok": Severity.OK, "warning": Severity.WARN, "canceled": Severity.WARN,
                  "error": Severity.CRIT, "unknown": Severity.UNKNOWN}


@dataclass(frozen=True)
class Thresholds:
    warn_age_hours: float = 26.0
    crit_age_hours: float = 50.0
    error_hours: float = 24.0


def age_text(seconds: float) -> str:
    hours = seconds / 3600
    if hours < 1:
        return f"{seconds / 60:.0f}m"
    return f"{hours:.0f}h" if hours < 48 else f"{hours / 24:.1f}d"


def _pairs(state: DirectorState) -> dict[tuple[str, str], list[JobRun]]:
    pairs: dict[tuple[str, str], list[JobRun]] = {}
    for run in sorted(state.runs, key=lambda r: r.jobid):
        pairs.setdefault((run.name, run.client), []).append(run)
    return pairs


def _age_severity(age_hours: float | None, limits: Thresholds) -> Severity:
    if age_hours is None or age_hours > limits.crit_age_hours:
        return Severity.CRIT
    return Severity.WARN if age_hours > limits.warn_age_hours else Severity.OK


def judge_pair(target: str, name: str, client: str, runs: list[JobRun], state: DirectorState,
               limits: Thresholds) -> Finding:
    """The verdict on one job definition run for one client."""
    last = runs[-1]
    good = [r for r in runs if status_kind(r.status) in ("ok", "warning") and r.status != "e"]
    last_good = good[-1] if good else None
    age_hours = (state.now - last_good.end_epoch) / 3600 if last_good and state.now else None
    window = state.now - limits.error_hours * 3600
    failed = [r for r in runs[:-1] if status_kind(r.status) in ("error", "canceled")
              and r.tdate >= window]  # the last run is reported on its own
    kind = status_kind(last.status)
    parts = [f"last run JobId {last.jobid} {last.status} ({describe_status(last.status)}) "
             f"at {last.start}"]
    severity = _KIND_SEVERITY.get(kind, Severity.OK)
    if kind in ("running", "waiting", "media"):
        severity = Severity.WARN if kind == "media" else Severity.OK
    if last.jobid in state.reasons:
        parts.append(state.reasons[last.jobid])
    if last_good is None:
        parts.append("no successful backup in the catalog")
    elif last_good is not last:
        parts.append(f"last good JobId {last_good.jobid} {age_text(age_hours * 3600)} ago"
                     if age_hours is not None else f"last good JobId {last_good.jobid}")
    elif age_hours is not None:
        parts[0] = (f"last run JobId {last.jobid} {last.status} ({describe_status(last.status)})"
                    f", {age_text(age_hours * 3600)} ago")
    age_severity = _age_severity(age_hours, limits)
    if age_severity > Severity.OK and last_good is not None:
        limit = (limits.crit_age_hours if age_severity is Severity.CRIT
                 else limits.warn_age_hours)
        parts.append(f"older than {limit:g}h")
    severity = max(severity, age_severity)
    if failed:
        parts.append(f"{len(failed)} failed in the last {limits.error_hours:g}h: "
                     + ", ".join(f"JobId {r.jobid} {r.status}" for r in failed))
    return Finding(
        CHECK, severity, target, f"{name} on {client}", "; ".join(parts), why=WHY, page=PAGE,
        data={"job": name, "client": client, "last": last.__dict__,
              "last_good": last_good.__dict__ if last_good else None,
              "age_hours": round(age_hours, 2) if age_hours is not None else None,
              "failed_recently": [r.__dict__ for r in failed]},
    )


def judge_running(target: str, state: DirectorState) -> list[Finding]:
    """Jobs that wait for an operator (a volume, a mount) are a problem now; others are news."""
    findings = []
    for job in state.running:
        kind = status_kind(job.status)
        severity = Severity.WARN if kind == "media" else Severity.OK
        since = f", started {age_text(state.now - job.start_epoch)} ago" if (
            state.now and job.start_epoch) else ""
        text = job.description or describe_status(job.status)
        findings.append(Finding(
            f"{CHECK}.running", severity, target, f"running {job.name} on {job.client}",
            f"JobId {job.jobid} {job.status}: {text}{since}", why=WHY, page=PAGE,
            data={"jobid": job.jobid, "status": job.status},
        ))
    return findings


def judge_scope(target: str, state: DirectorState) -> list[Finding]:
    """UNKNOWN when the director shows no backup job or no client: the check looked at nothing.

    Bacula needs a Client for every Backup job, so a director with backup jobs and
    no clients, or with none of either, is one whose console cannot see them (a
    named Console's JobACL/ClientACL filters `.jobs` and `.clients`, not the
    catalog) or one that backs up nothing at all. Neither may read as OK. The
    catalog's history, which no ACL filters, is still judged when there is some.
    """
    missing = [what for what, names in (("backup job", state.definitions),
                                        ("client", state.clients)) if not names]
    if not missing:
        return []
    acls = " and ".join({"backup job": "JobACL", "client": "ClientACL"}[m] for m in missing)
    message = (f"the director shows this console no {' and no '.join(missing)} (its {acls} "
               "may hide them)")
    if state.definitions:
        message += ": clients that were never backed up cannot be found"
    elif state.runs:
        message += ": only the catalog's history was judged"
    else:
        message += ": nothing to judge"
    return [Finding(f"{CHECK}.scope", Severity.UNKNOWN, target, "", message, page=PAGE,
                    why="a check that sees no job cannot tell that every client is backed up",
                    data={"definitions": len(state.definitions),
                          "clients": len(state.clients), "runs": len(state.runs)})]


def judge_state(target: str, state: DirectorState, limits: Thresholds) -> list[Finding]:
    """Findings for every job definition and client the director knows."""
    findings = judge_scope(target, state)
    pairs = _pairs(state)
    for (name, client), runs in pairs.items():
        findings.append(judge_pair(target, name, client, runs, state, limits))
    ran = {name for name, _ in pairs}
    for name in state.definitions:
        if name not in ran:
            findings.append(Finding(
                CHECK, Severity.WARN, target, name, "never ran: no job of this definition "
                "in the catalog", why=WHY, page=PAGE, data={"job": name, "never_ran": True}))
    backed_up = {client for _, client in pairs}
    for client in state.clients:
        if client not in backed_up:
            findings.append(Finding(
                CHECK, Severity.WARN, target, f"client {client}",
                "no backup job has ever run for this client", why=WHY, page=PAGE,
                data={"client": client, "never_backed_up": True}))
    findings.extend(judge_running(target, state))
    return findings


# --- Relax-and-Recover -------------------------------------------------------------------

REAR_PAGE = "runbooks/rear-check/"
LAYOUT = "/var/lib/rear/layout/disklayout.conf"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def judge_rear(target: str, probe: RearProbe, result: CheckLayout | None,
               changed_files: list[str], now: datetime) -> Finding:
    """One finding per host: unchanged (OK), changed (WARN), never saved (CRIT)."""
    common = {"page": REAR_PAGE,
              "why": "ReaR recreates partitions, RAID, LVM and filesystems from the layout "
              "saved in the rescue image; a layout that no longer matches the machine makes "
              "a bare-metal recovery fail or rebuild the wrong thing"}
    if probe.layout_saved is None:
        return Finding("rear.checklayout", Severity.CRIT, target, "rescue image",
                       f"no rescue image layout recorded: rear mkrescue never ran "
                       f"(no {LAYOUT})", data={"layout_saved": None}, **common)
    saved = _iso(probe.layout_saved)
    data = {"layout_saved": saved, "rear": probe.rear,
            "layout_age_seconds": round((now - probe.layout_saved).total_seconds())}
    if result is None or not result.changed:
        return Finding("rear.checklayout", Severity.OK, target, "rescue image",
                       f"layout unchanged since the last rescue image (layout saved {saved})",
                       data={**data, "layout_changed": False, "config_changed": False},
                       **common)
    parts = []
    if result.layout_changed:
        parts.append(f"disk layout differs from the one saved {saved}")
    if result.config_changed:
        files = ", ".join(changed_files) or "a file was added to a watched directory"
        parts.append(f"configuration changed: {files}")
    return Finding("rear.checklayout", Severity.WARN, target, "rescue image",
                   f"layout changed: run rear mkrescue ({'; '.join(parts)})",
                   data={**data, "layout_changed": result.layout_changed,
                         "config_changed": result.config_changed,
                         "changed_files": changed_files}, **common)


def rear_metrics(findings: list[Finding]) -> dict[str, float]:
    """Perfdata: the age of the oldest saved layout, when any host has one."""
    ages = [f.data["layout_age_seconds"] for f in findings
            if f.data.get("layout_age_seconds") is not None]
    return {"layout_age_seconds": max(ages)} if ages else {}


def unchanged_lines(findings: list[Finding]) -> list[str]:
    """For the table format, which lists only problems: the hosts whose layout is current,
    with the date it was saved (worth seeing when all is well too)."""
    return [f"{f.target}: {f.message}" for f in findings
            if f.severity is Severity.OK and f.check == "rear.checklayout"]
