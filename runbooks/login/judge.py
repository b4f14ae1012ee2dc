"""Judge what one login costs a host: one finding per host."""

from __future__ import annotations

import statistics

from ..core.findings import Finding, Severity
from .parse import MotdScript, PamMotd

PAGE = "runbooks/login-cost/"


def judge_login(target: str, scripts: list[MotdScript], pam: list[PamMotd],
                logins: list[float], threshold: float,
                login_cpu: float | None = None) -> Finding:
    """WARN when pam_motd runs update-motd.d scripts slower than ``threshold`` at login."""
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


def pam_unknown(target: str, message: str) -> Finding:
    """sshd's PAM file could not be read: whether logins run the scripts is UNKNOWN."""
    return Finding("login.cost.pam", Severity.UNKNOWN, target, "", message, page=PAGE)


def summarise(findings: list[Finding]) -> dict[str, float]:
    """The report's metrics: median login time and CPU, total update-motd.d time."""
    metrics: dict[str, float] = {}
    logins = [s for f in findings for s in f.data.get("login_seconds", [])]
    if logins:
        metrics["login_seconds"] = round(statistics.median(logins), 3)
    cpus = [f.data["login_cpu_seconds"] for f in findings
            if f.data.get("login_cpu_seconds") is not None]
    if cpus:
        metrics["login_cpu_seconds"] = round(statistics.median(cpus), 3)
    metrics["motd_seconds"] = round(sum(f.data.get("motd_seconds", 0) for f in findings), 3)
    return metrics
