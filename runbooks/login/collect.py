"""What the login tasks run on a target: update-motd.d timings, sshd's CPU, fresh logins,
sshd's PAM stack and the modes of update-motd.d (for the trim and its manifest)."""

from __future__ import annotations

import time

from ..core.errors import TargetError
from ..core.scripts import load
from ..core.targets import SSHTarget, Target
from .parse import (
    MotdScript,
    PamMotd,
    parse_manifest,
    parse_motd_timings,
    parse_pam_motd,
)

PAM_SSHD = "/etc/pam.d/sshd"
# Times every file of update-motd.d the way run-parts would run it (constant
# script: the names only ever appear as data in its output).
TIMING_SCRIPT = load(__package__, "motd-timing.sh")  # scripts/motd-timing.sh
# CPU of finished logins accumulates in the listening sshd's "children" times
# (fields 16 and 17 of /proc/PID/stat) once it reaps them: read them before and
# after fresh logins. Prints: CLK_TCK CUTIME CSTIME.
SSHD_CPU_SCRIPT = r"""
pid=$(cat /run/sshd.pid 2>/dev/null || pgrep -o -x sshd) || exit 1
set -- $(cut -d')' -f2- "/proc/$pid/stat")
echo "$(getconf CLK_TCK) ${14} ${15}"
"""
# MODE<TAB>NAME of every file in the folder given as $1 (nothing when it is missing).
MODES_SCRIPT = ('cd "$1" 2>/dev/null || exit 0; for f in *; do [ -f "$f" ] && '
                'printf "%s\\t%s\\n" "$(stat -c %a -- "$f")" "$f"; done; exit 0')


async def motd_scripts(target: Target) -> list[MotdScript]:
    """Every file of update-motd.d with its mode and, when executable, its run time."""
    result = await target.run(["bash", "-c", TIMING_SCRIPT])
    if not result.ok:
        raise TargetError(f"{target.name}: timing update-motd.d: {result.first_error_line()}")
    return parse_motd_timings(result.stdout)


async def sshd_cpu(target: Target) -> float | None:
    """Seconds of CPU that finished logins have used so far, from the sshd listener."""
    result = await target.run(["sh", "-c", SSHD_CPU_SCRIPT])
    fields = result.stdout.split()
    if not result.ok or len(fields) != 3 or not all(f.isdigit() for f in fields):
        return None
    ticks, user, system = (int(f) for f in fields)
    return (user + system) / ticks


async def login_seconds(target: Target, samples: int) -> tuple[list[float], float | None]:
    """Wall times of fresh non-interactive logins (connect, authenticate, run `true`), and
    the server CPU one of them costs on average (None where it cannot be read)."""
    if not isinstance(target, SSHTarget):
        return [], None
    cpu_before = await sshd_cpu(target)
    times = []
    for _ in range(samples):
        fresh = SSHTarget(target.host, port=target.port, user=target.user,
                          known_hosts=target.known_hosts, identity=target.identity,
                          connect_timeout=target.connect_timeout,
                          command_timeout=target.command_timeout, accept_new=target.accept_new,
                          config=target.config)
        start = time.monotonic()
        async with fresh:
            await fresh.run(["true"])
        times.append(round(time.monotonic() - start, 3))
    cpu_after = await sshd_cpu(target)
    if cpu_before is None or cpu_after is None:
        return times, None
    return times, round((cpu_after - cpu_before) / samples, 3)


class PamUnreadable(TargetError):
    """sshd's PAM file could not be read: whether logins run update-motd.d is unknown."""


async def pam_motd_lines(target: Target, path: str = PAM_SSHD) -> list[PamMotd]:
    """The pam_motd lines of sshd's PAM stack; PamUnreadable when the file cannot be read.

    No such line means logins run no update-motd.d; an unreadable or missing
    /etc/pam.d/sshd means we cannot tell (some systems keep it under /usr/lib/pam.d).
    """
    result = await target.run(["grep", "-n", "pam_motd", path])
    if result.exit_status > 1:  # grep: 0 found, 1 not found, 2 trouble
        why = result.first_error_line().rsplit(": ", 1)[-1]
        raise PamUnreadable(f"cannot read {path} ({why}): cannot tell whether logins run "
                            "update-motd.d")
    return parse_pam_motd(result.stdout)


async def read_manifest(target: Target, path: str) -> dict[str, str] | None:
    """The trim manifest at ``path``; None when there is none."""
    result = await target.run(["cat", path])
    if not result.ok:
        return None
    return parse_manifest(result.stdout)


async def current_modes(target: Target, folder: str) -> dict[str, str]:
    """The mode of every file in ``folder`` by name (empty when the folder is missing)."""
    return parse_manifest((await target.run(["sh", "-c", MODES_SCRIPT, "sh", folder])).stdout)


async def is_dir(target: Target, path: str) -> bool:
    return (await target.run(["test", "-d", path])).ok
