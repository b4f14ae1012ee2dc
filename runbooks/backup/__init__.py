"""backup: is every client backed up, recently and without errors? Bacula and Bareos.

Tasks: ``backup.status`` (read only: one bconsole session on the director host)
and ``backup.rear-check`` (read only: does the disk layout still match the
last Relax-and-Recover rescue image?). Layers: collect.py, parse.py, judge.py.
"""

from __future__ import annotations

from ..core.findings import Finding
from ..core.options import TargetOptions
from ..core.runner import collect_report, collection, finish, runbook_task
from ..core.targets import Target

DEFAULT_BCONSOLE_TIMEOUT = 30.0
STATUS_HELP = {
    "config": "bconsole configuration on the director host "
    "(default /etc/bacula/bconsole.conf).",
    "warn_age": "Hours since the last good backup of a job and client before WARNING "
    "(default 26: a daily job missed once).",
    "crit_age": "Hours since the last good backup before CRITICAL (default 50).",
    "error_hours": "Report failed and canceled runs of the last N hours too (default 24).",
    "timeout": f"Seconds bconsole may take to answer before the check is UNKNOWN "
    f"(default {DEFAULT_BCONSOLE_TIMEOUT:g}; bconsole itself gives up on a refused "
    "connection after about 15 s).",
}


REAR_HELP: dict[str, str] = {
    "timeout": "Seconds `rear checklayout` may take (default 60; it rebuilds the layout "
    "description, a few seconds on most hosts).",
}


@runbook_task(help=STATUS_HELP, label="BACKUP", targets="many",
              defaults={"timeout": DEFAULT_BCONSOLE_TIMEOUT})
def status(
    c,
    config="/etc/bacula/bconsole.conf",
    warn_age=26.0,
    crit_age=50.0,
    error_hours=24.0,
    *,
    opts: TargetOptions,
):
    """Last backup of every job and client of a Bacula director, judged by status and age.

    Runs one non-interactive bconsole session on the director host (this host,
    --host over SSH or --container): the backup job definitions, the clients,
    the catalog's last run and last good run of every job and client, the runs
    of the last --error-hours, and the jobs running or waiting now. CRITICAL for
    a last run that ended in error (E, f, I) or no good backup within
    --crit-age hours; WARNING for warnings (W, e), a canceled run (A), a job
    waiting for a volume (m, M), an age past --warn-age, and job definitions or
    clients that never ran. A director that does not answer is UNKNOWN, with
    the reason, after at most --timeout seconds; so is one that shows no backup
    job or no client (a console's JobACL/ClientACL can hide them).
    """
    from ..core.errors import UsageError
    from .collect import director_state
    from .judge import Thresholds, judge_state

    limits = Thresholds(float(warn_age), float(crit_age), float(error_hours))
    if limits.warn_age_hours > limits.crit_age_hours:
        raise UsageError("--warn-age must not be larger than --crit-age")
    allowed = opts.timeout
    targets = opts.targets(timeout=allowed + 15)
    hours = max(1, int(limits.error_hours + 0.999))

    async def work(target: Target):
        state = await director_state(target, config, hours, allowed)
        return judge_state(target.name, state, limits)

    report = collect_report("backup.status", "Backup status", "job", targets, work,
                            opts.parallel)
    judged = [f for f in report.findings if f.check == "backup.status"]
    report.checked = len(judged)
    report.metrics["failed"] = sum(1 for f in judged if f.severity.name == "CRIT")
    report.metrics["never_ran"] = sum(1 for f in judged if f.data.get("never_ran")
                                      or f.data.get("never_backed_up"))
    finish(report, opts.format, opts.textfile_dir)


@runbook_task(name="rear-check", label="REAR", help=REAR_HELP, targets="many")
def rear_check(
    c,
    *,
    opts: TargetOptions,
):
    """Check that each host's disk layout still matches its last ReaR rescue image.

    Runs `rear -v checklayout` (as root) on each host: OK when layout and watched
    configuration files are unchanged since the layout was saved, WARN when
    they changed (a new `rear mkrescue` is due; changed configuration files are
    named), CRIT when no layout was ever saved. No rear on the host, or rear
    failing, is a one-line error (UNKNOWN). checklayout rewrites some of
    ReaR's own working files and its log, never the saved layout.
    """
    from datetime import UTC, datetime

    from ..core.render import check_format
    from .collect import rear_state
    from .judge import judge_rear, rear_metrics, unchanged_lines

    fmt = check_format(opts.format)
    targets = opts.targets()

    async def work(target: Target) -> list[Finding]:
        state = await rear_state(target)
        return [judge_rear(target.name, state.probe, state.result, state.changed_files,
                           datetime.now(UTC))]

    report = collect_report("rear.checklayout", "ReaR rescue image", "host", targets, work,
                            opts.parallel)
    report.metrics.update(rear_metrics(report.findings))
    report.details = unchanged_lines(report.findings)  # the table lists only problems
    finish(report, fmt, opts.textfile_dir)


ns = collection("backup", status, rear_check)
