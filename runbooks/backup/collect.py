"""Ask the director, through one non-interactive bconsole session on the director host."""

from __future__ import annotations

from ..core.errors import TargetError
from ..core.scripts import load
from ..core.targets import Target
from .parse import DirectorState, parse_bacula_session

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
