"""login: what an SSH login costs the server, and trimming /etc/update-motd.d safely.

Tasks: ``login.cost`` (read only, but it runs each update-motd.d script once to
time it, exactly as one login would), ``login.trim-motd`` and
``login.restore-motd`` (dry run unless --apply).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from invoke import Collection

from ..core.errors import TargetError
from ..core.findings import Finding, Severity
from ..core.options import TargetOptions
from ..core.runner import collect_report, finish, runbook_task
from ..core.scripts import load
from ..core.targets import SSHTarget, Target

PAGE = "runbooks/login-cost/"
PAM_SSHD = "/etc/pam.d/sshd"
DEFAULT_THRESHOLD = 0.1
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
LOGIN_HELP = {
    "samples": "Fresh logins timed per host (default 3; the median is reported).",
    "threshold": f"Seconds: a script slower than this counts as costly "
    f"(default {DEFAULT_THRESHOLD}).",
}


async def motd_scripts(target: Target) -> list[Any]:
    from .parse import parse_motd_timings

    result = await target.run(["bash", "-c", TIMING_SCRIPT])
    if not result.ok:
        from ..core.errors import TargetError

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


async def pam_motd_lines(target: Target, path: str = PAM_SSHD) -> list[Any]:
    """The pam_motd lines of sshd's PAM stack; PamUnreadable when the file cannot be read.

    No such line means logins run no update-motd.d; an unreadable or missing
    /etc/pam.d/sshd means we cannot tell (some systems keep it under /usr/lib/pam.d).
    """
    from .parse import parse_pam_motd

    result = await target.run(["grep", "-n", "pam_motd", path])
    if result.exit_status > 1:  # grep: 0 found, 1 not found, 2 trouble
        why = result.first_error_line().rsplit(": ", 1)[-1]
        raise PamUnreadable(f"cannot read {path} ({why}): cannot tell whether logins run "
                            "update-motd.d")
    return parse_pam_motd(result.stdout)


def judge_login(target: str, scripts: list[Any], pam: list[Any], logins: list[float],
                threshold: float, login_cpu: float | None = None) -> Finding:
    runs = [s for s in scripts if s.executable]
    active = [p for p in pam if p.runs_scripts]
    total = sum(s.real or 0 for s in runs)
    cpu = sum(s.cpu for s in runs)
    costly = sorted((s for s in runs if (s.real or 0) > threshold), key=lambda s: -(s.real or 0))
    parts = []
    if logins:
        cpu_text = f", {login_cpu:.2f}s server CPU" if login_cpu is not None else ""
        parts.append(f"login {statistics.median(logins):.2f}s{cpu_text}")
    if active:
        parts.append(f"pam_motd (line {active[0].line}) runs {len(runs)} update-motd.d "
                     f"scripts: {total:.2f}s wall, {cpu:.2f}s CPU per login")
    else:
        parts.append(f"update-motd.d not run at login ({len(runs)} executable scripts)")
    if costly and active:
        parts.append("slow: " + ", ".join(f"{s.name} {s.real:.2f}s" for s in costly))
    severity = Severity.WARN if active and costly else Severity.OK
    return Finding(
        "login.cost", severity, target, "", "; ".join(parts),
        why="every SSH login (every check_by_ssh run) executes these scripts as root; "
        "at thousands of checks they become the machine's load",
        page=PAGE,
        data={"login_seconds": logins, "login_cpu_seconds": login_cpu,
              "motd_seconds": round(total, 3),
              "motd_cpu_seconds": round(cpu, 3), "pam_motd": [p.__dict__ for p in pam],
              "scripts": [s.__dict__ for s in scripts]},
    )


@runbook_task(help=LOGIN_HELP, label="LOGIN", targets="many")
def cost(
    c,
    samples=3,
    threshold=DEFAULT_THRESHOLD,
    *,
    opts: TargetOptions,
):
    """Measure what a non-interactive SSH login costs each host, and where it goes.

    Per host: the wall time of fresh `ssh host true` logins and the server CPU
    they cost (from the sshd listener's reaped children), the pam_motd
    lines of /etc/pam.d/sshd, and the wall and CPU time of every script in
    /etc/update-motd.d (each is run once to time it, as a login would). WARN
    when pam_motd runs scripts slower than --threshold on every login. A host
    whose /etc/pam.d/sshd cannot be read is UNKNOWN: nothing would say whether
    its logins run the scripts.
    """
    from ..core.errors import UsageError

    if int(samples) < 1:
        raise UsageError(f"--samples must be at least 1, not {samples}")
    targets = opts.targets()

    async def work(target: Target):
        logins, login_cpu = await login_seconds(target, int(samples))
        try:
            pam = await pam_motd_lines(target)
        except PamUnreadable as exc:
            return [Finding("login.cost.pam", Severity.UNKNOWN, target.name, "", str(exc),
                            page=PAGE)]
        scripts = await motd_scripts(target)
        return [judge_login(target.name, scripts, pam, logins, float(threshold), login_cpu)]

    report = collect_report("login.cost", "SSH login cost", "host", targets, work,
                            opts.parallel)
    report.checked = sum(1 for f in report.findings if f.check == "login.cost")
    logins = [s for f in report.findings for s in f.data.get("login_seconds", [])]
    if logins:
        report.metrics["login_seconds"] = round(statistics.median(logins), 3)
    cpus = [f.data["login_cpu_seconds"] for f in report.findings
            if f.data.get("login_cpu_seconds") is not None]
    if cpus:
        report.metrics["login_cpu_seconds"] = round(statistics.median(cpus), 3)
    report.metrics["motd_seconds"] = round(sum(f.data.get("motd_seconds", 0)
                                               for f in report.findings), 3)
    finish(report, opts.format)


@runbook_task(help={"threshold": LOGIN_HELP["threshold"]}, label="LOGIN", name="trim-motd",
              targets="one")
def trim_motd(
    c,
    threshold=DEFAULT_THRESHOLD,
    apply=False,
    *,
    opts: TargetOptions,
):
    """Stop update-motd.d scripts slower than --threshold from running at login (chmod -x).

    Before the first change it records every script's mode in
    /var/lib/breaking-point/motd-manifest on the host, so that
    `login.restore-motd` puts back exactly what was there. Running it again
    changes nothing more, and says why. Dry run unless --apply.
    """
    import asyncio

    from ..core.changes import apply_plan
    from .remedy import nothing_slow, plan_trim

    target = opts.one_target()

    async def run() -> int:
        async with target:
            scripts = await motd_scripts(target)
            plan = await plan_trim(target, scripts, float(threshold))
            if not plan.steps:
                print(f"{target.name}: {nothing_slow(scripts, float(threshold))}")
            return await apply_plan(plan, apply)

    asyncio.run(run())


@runbook_task(label="LOGIN", name="restore-motd", targets="one")
def restore_motd(
    c,
    apply=False,
    *,
    opts: TargetOptions,
):
    """Put every update-motd.d script back to the mode the trim manifest recorded.

    Then removes the manifest. Scripts are only chmod-ed, never rewritten, so
    the directory ends byte for byte and mode for mode as before the trim.
    Dry run unless --apply.
    """
    import asyncio

    from ..core.changes import apply_plan
    from .remedy import plan_restore

    target = opts.one_target()

    async def run() -> int:
        async with target:
            return await apply_plan(await plan_restore(target), apply)

    asyncio.run(run())


ns = Collection("login")
ns.add_task(cost)
ns.add_task(trim_motd)
ns.add_task(restore_motd)
