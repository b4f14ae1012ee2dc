"""backup.rear-check: does the disk layout still match the last Relax-and-Recover rescue image?

``rear checklayout`` rebuilds the layout description in its temporary build area
and compares it with /var/lib/rear/layout/disklayout.conf, saved by the last
``rear mkrescue`` (or ``rear savelayout``); it also compares checksums of the
configuration files it watches (/etc/rear/, lvm.conf, multipath.conf, ...). Exit
status 1 means a new rescue image is needed. The task adds the date of the saved
layout and, when configuration files changed, their names (``md5sum -c`` of the
saved checksums, read only).

Not strictly read only, and the page says so: every ``rear checklayout`` rewrites
diskdeps.conf, disktodo.conf and config/df.txt under /var/lib/rear/layout, a few
files under /var/lib/rear/recovery, writes its log and copies it over
/var/log/rear/rear-HOST.log. The saved layout and the checksums stay untouched.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime

from ..core.errors import ParseError, TargetError
from ..core.findings import Finding, Report, Severity
from ..core.options import TargetOptions
from ..core.runner import collect_report, finish, runbook_task
from ..core.scripts import load
from ..core.targets import Target

PAGE = "runbooks/rear-check/"
LAYOUT = "/var/lib/rear/layout/disklayout.conf"
CHECKSUMS = "/var/lib/rear/layout/config/files.md5sum"
IDENTICAL = "Disk layout is identical"  # what rear -v checklayout says when nothing changed
# Where rear is, and the saved layout's modification time and first line. Constant:
# nothing from the command line reaches this shell.
PROBE_SCRIPT = load(__package__, "rear-probe.sh")  # scripts/rear-probe.sh
REAR_HELP: dict[str, str] = {
    "timeout": "Seconds `rear checklayout` may take (default 60; it rebuilds the layout "
    "description, a few seconds on most hosts).",
}


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


def parse_probe(text: str) -> RearProbe:
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


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def judge_rear(target: str, probe: RearProbe, result: CheckLayout | None,
               changed_files: list[str], now: datetime) -> Finding:
    """One finding per host: unchanged (OK), changed (WARN), never saved (CRIT)."""
    common = {"page": PAGE,
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


async def check_target(target: Target) -> Finding:
    """Probe, run ``rear -v checklayout`` when there is a layout, and judge."""
    probe_run = await target.run(["sh", "-c", PROBE_SCRIPT])
    if not probe_run.ok:
        raise TargetError(f"{target.name}: rear probe failed: {probe_run.first_error_line()}")
    probe = parse_probe(probe_run.stdout)
    if not probe.rear:
        raise TargetError(f"{target.name}: rear (Relax-and-Recover) is not installed: "
                          "no rear on PATH or in /usr/sbin")
    now = datetime.now(UTC)
    if probe.layout_saved is None:
        return judge_rear(target.name, probe, None, [], now)
    run = await target.run([probe.rear, "-v", "checklayout"])
    result = parse_checklayout(run.exit_status, run.stdout, run.stderr)
    if result.error:
        raise TargetError(f"{target.name}: rear checklayout failed "
                          f"(exit {run.exit_status}): {result.error}")
    changed_files: list[str] = []
    if result.config_changed:
        sums = await target.run(["md5sum", "-c", "--quiet", CHECKSUMS])
        changed_files = parse_md5sum_check(sums.stdout)
    return judge_rear(target.name, probe, result, changed_files, now)


def _print_ok(report: Report) -> None:
    # The table renderer lists only problems; the date of the saved layout is worth
    # seeing when all is well too.
    for f in report.findings:
        if f.severity is Severity.OK and f.check == "rear.checklayout":
            print(f"{f.target}: {f.message}")


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
    from ..core.render import check_format

    fmt = check_format(opts.format)
    targets = opts.targets()

    async def work(target: Target) -> list[Finding]:
        return [await check_target(target)]

    report = collect_report("rear.checklayout", "ReaR rescue image", "host", targets, work,
                            opts.parallel)
    ages = [f.data["layout_age_seconds"] for f in report.findings
            if f.data.get("layout_age_seconds") is not None]
    if ages:
        report.metrics["layout_age_seconds"] = max(ages)
    if fmt == "table":
        _print_ok(report)
        sys.stdout.flush()
    finish(report, fmt)

