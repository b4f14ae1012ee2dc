"""What the backup tasks run on a target.

backup.status: one non-interactive bconsole session on the director host.
backup.rear-check: a probe for rear and the saved layout, ``rear -v checklayout``
and, when watched configuration files changed, ``md5sum -c`` of their saved checksums.

``rear checklayout`` is not strictly read only, and the page says so: every run
rewrites diskdeps.conf, disktodo.conf and config/df.txt under /var/lib/rear/layout,
a few files under /var/lib/rear/recovery, writes its log and copies it over
/var/log/rear/rear-HOST.log. The saved layout and the checksums stay untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.errors import TargetError
from ..core.scripts import load
from ..core.targets import Target
from .parse import (
    CheckLayout,
    DirectorState,
    RearProbe,
    parse_bacula_session,
    parse_checklayout,
    parse_md5sum_check,
    parse_rear_probe,
)

DEFAULT_BCONSOLE_CONFIG = "/etc/bacula/bconsole.conf"

# Constant script (scripts/status.sh, with its two catalog queries); its data comes in
# as positional parameters ($1 config, $2 hours of history, $3 seconds allowed).
STATUS_SCRIPT = load(__package__, "status.sh")


def _marker(lines: list[str], name: str) -> str | None:
    for line in lines:
        if line.startswith(name + " "):
            return line[len(name) + 1:].strip()
    return None


def interpret(target_name: str, stdout: str, allowed: float) -> DirectorState:
    """Turn the script's output into director state, or a TargetError naming the cause."""
    lines = stdout.splitlines()
    if (missing := _marker(lines, "BP-MISSING")) is not None:
        raise TargetError(f"{target_name}: {missing} is not installed here: run backup.status "
                          "on the director host (bacula-console)")
    if (conf := _marker(lines, "BP-NOCONF")) is not None:
        raise TargetError(f"{target_name}: cannot read bconsole configuration {conf} "
                          "(give --config, or run as a user that may read it)")
    exit_text = _marker(lines, "BP-EXIT")
    now_text = _marker(lines, "BP-NOW") or "0"
    if "1000 OK" not in stdout:
        where = next((ln[len("Connecting to Director "):] for ln in lines
                      if ln.startswith("Connecting to Director ")), "the director")
        probe = _marker(lines, "BP-PROBE")
        if exit_text == "124":
            cause = f"no answer from the director at {where} within {allowed:g}s"
        else:
            detail = [ln for ln in lines if ln and not ln.startswith(("BP-", "Connecting"))]
            cause = f"bconsole could not talk to the director at {where}"
            if probe:
                cause += f" ({probe.split(' ', 1)[1]})"
            elif detail:
                cause += f": {detail[-1].strip()}"
            cause += f", bconsole exit {exit_text}"
        raise TargetError(f"{target_name}: {cause}")
    return parse_bacula_session(stdout, now=int(now_text) if now_text.isdigit() else 0)


async def director_state(target: Target, config: str, hours: int,
                         allowed: float) -> DirectorState:
    """One bconsole session on the target; the director's jobs, clients and history."""
    result = await target.run(["bash", "-c", STATUS_SCRIPT, "bp-backup-status", config,
                               str(int(hours)), f"{allowed:g}"])
    if not result.ok and "BP-NOW" not in result.stdout:
        raise TargetError(f"{target.name}: bconsole session: {result.first_error_line()}")
    return interpret(target.name, result.stdout, allowed)


# --- Relax-and-Recover -------------------------------------------------------------------

CHECKSUMS = "/var/lib/rear/layout/config/files.md5sum"
# Where rear is, and the saved layout's modification time and first line. Constant:
# nothing from the command line reaches this shell.
PROBE_SCRIPT = load(__package__, "rear-probe.sh")  # scripts/rear-probe.sh


@dataclass(frozen=True)
class RearState:
    """What rear said on one host: the probe, checklayout's verdict, changed files."""

    probe: RearProbe
    result: CheckLayout | None = None  # None: no saved layout, so nothing to compare
    changed_files: list[str] = field(default_factory=list)


async def rear_state(target: Target) -> RearState:
    """Probe, then run ``rear -v checklayout`` when there is a saved layout."""
    probe_run = await target.run(["sh", "-c", PROBE_SCRIPT])
    if not probe_run.ok:
        raise TargetError(f"{target.name}: rear probe failed: {probe_run.first_error_line()}")
    probe = parse_rear_probe(probe_run.stdout)
    if not probe.rear:
        raise TargetError(f"{target.name}: rear (Relax-and-Recover) is not installed: "
                          "no rear on PATH or in /usr/sbin")
    if probe.layout_saved is None:
        return RearState(probe)
    run = await target.run([probe.rear, "-v", "checklayout"])
    result = parse_checklayout(run.exit_status, run.stdout, run.stderr)
    if result.error:
        raise TargetError(f"{target.name}: rear checklayout failed "
                          f"(exit {run.exit_status}): {result.error}")
    changed_files: list[str] = []
    if result.config_changed:
        sums = await target.run(["md5sum", "-c", "--quiet", CHECKSUMS])
        changed_files = parse_md5sum_check(sums.stdout)
    return RearState(probe, result, changed_files)
