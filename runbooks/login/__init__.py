"""login: what an SSH login costs the server, and trimming /etc/update-motd.d safely.

Tasks: ``login.cost`` (read only, but it runs each update-motd.d script once to
time it, exactly as one login would), ``login.trim-motd`` and
``login.restore-motd`` (dry run unless --apply; on several hosts, a rollout:
core.rollout). Layers: collect.py, parse.py, judge.py, plan.py.
"""

from __future__ import annotations

from ..core.options import TargetOptions
from ..core.runner import collect_report, collection, finish, runbook_task
from ..core.targets import Target

DEFAULT_THRESHOLD = 0.1
LOGIN_HELP = {
    "samples": "Fresh logins timed per host (default 3; the median is reported).",
    "threshold": f"Seconds: a script slower than this counts as costly "
    f"(default {DEFAULT_THRESHOLD}).",
}


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
    from .collect import PamUnreadable, login_seconds, motd_scripts, pam_motd_lines
    from .judge import judge_login, pam_unknown, summarise

    if int(samples) < 1:
        raise UsageError(f"--samples must be at least 1, not {samples}")
    targets = opts.targets()

    async def work(target: Target):
        logins, login_cpu = await login_seconds(target, int(samples))
        try:
            pam = await pam_motd_lines(target)
        except PamUnreadable as exc:
            return [pam_unknown(target.name, str(exc))]
        scripts = await motd_scripts(target)
        return [judge_login(target.name, scripts, pam, logins, float(threshold), login_cpu)]

    report = collect_report("login.cost", "SSH login cost", "host", targets, work,
                            opts.parallel)
    report.checked = sum(1 for f in report.findings if f.check == "login.cost")
    report.metrics.update(summarise(report.findings))
    finish(report, opts.format, opts.textfile_dir)


@runbook_task(help={"threshold": LOGIN_HELP["threshold"]}, label="LOGIN", name="trim-motd",
              targets="fleet")
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

    On several hosts it plans every host first and prints the plans grouped;
    with --apply it is a rollout: --canary hosts first, then waves of
    --parallel, stopping when more than --max-failures hosts failed (a failed
    host gets its completed steps undone); it asks before the canary and
    before the waves (--yes for scripts). `invoke changes.undo ROLLOUT --apply`
    undoes a whole rollout.
    """
    from ..core.rollout import FleetChange, roll_out
    from .collect import motd_scripts
    from .plan import plan_trim, scripts_changed

    async def plan(target: Target):
        return await plan_trim(target, await motd_scripts(target), float(threshold))

    roll_out(FleetChange("login.trim-motd", plan, scripts_changed), opts, bool(apply))


@runbook_task(label="LOGIN", name="restore-motd", targets="fleet")
def restore_motd(
    c,
    apply=False,
    *,
    opts: TargetOptions,
):
    """Put every update-motd.d script back to the mode the trim manifest recorded.

    Then removes the manifest. Scripts are only chmod-ed, never rewritten, so
    the directory ends byte for byte and mode for mode as before the trim.
    Dry run unless --apply. On several hosts, a rollout as for login.trim-motd;
    hosts without a manifest have nothing to restore and are left alone.
    """
    from ..core.rollout import FleetChange, roll_out
    from .plan import plan_restore, scripts_changed

    roll_out(FleetChange("login.restore-motd", plan_restore, scripts_changed, settled=False),
             opts, bool(apply))


ns = collection("login", cost, trim_motd, restore_motd)
