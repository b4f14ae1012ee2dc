"""The monitoring lab: a NAS-like host watched by Prometheus through our check.

``nas`` runs Debian's node_exporter with only its textfile collector and our
``mounts.audit --format prometheus`` in a loop (as cron would), on an ext4
volume on a loop device mounted carefully at /srv/nas (the nas lab's
mechanism); ``prometheus`` runs Debian's Prometheus, scraping the NAS and
evaluating the alerting rules the site build generates (runbooks/site/alerts.py),
with lab-short intervals. Fault ``barrier-off`` remounts /srv/nas without
write barriers, the story's NAS; heal turns them back on.
"""

from __future__ import annotations

from typing import Any

from .. import engine
from ..faults import Fault, sh
from .base import System

NAME = "monitoring"
CHECK_SECONDS = 3  # how often the NAS runs the check
INTERVAL = "2s"    # Prometheus' scrape and rule evaluation interval
FOR = "6s"         # how long a finding lasts before its alert fires (the site's rules: 5m)
RULES_DIR = "/etc/bp/rules"


def container_name(prefix: str, node: str) -> str | None:
    """nas -> PREFIX-monitoring-nas, prometheus -> PREFIX-monitoring-prometheus."""
    return f"{prefix}-monitoring-{node}" if node in ("nas", "prometheus") else None


def rules(for_: str = FOR) -> str:
    """The generated alerting rules, with the lab's short ``for``."""
    from ...site.alerts import render_rules

    return render_rules(for_=for_)


def _ready(container: Any, url: str) -> bool:
    code, _ = container.exec_run(["curl", "-fsS", "-o", "/dev/null", url])
    return code == 0


def start(cl: Any, prefix: str, **_: Any) -> dict[str, Any]:
    """NAS with node_exporter and the check loop, and Prometheus scraping it; own network."""
    image = engine.build_image(NAME, cl)
    net_name = f"{prefix}-{NAME}"
    engine.network(cl, net_name, NAME)
    nas = engine.run_container(
        cl, image, f"{prefix}-{NAME}-nas", NAME, hostname="nas", network=net_name,
        cap_add=["SYS_ADMIN"],  # mount(2), as in the nas lab
        devices=["/dev/loop-control:/dev/loop-control:rwm"],
        device_cgroup_rules=["b 7:* rwm"],  # loop block devices
        volumes=engine.repo_mount())
    prom = engine.run_container(cl, image, f"{prefix}-{NAME}-prometheus", NAME,
                                hostname="prometheus", network=net_name)
    for container in (nas, prom):
        engine.wait_until(lambda c=container: engine.running(c), 20, f"{container.name} running")
    engine.exec_checked(nas, ["monitoring-nas", str(CHECK_SECONDS)], f"{nas.name}: monitoring-nas")
    engine.exec_checked(prom, ["mkdir", "-p", RULES_DIR], f"{prom.name}: {RULES_DIR}")
    engine.put_file(prom, RULES_DIR, "breaking-point.rules.yml", rules().encode(), 0o644)
    engine.exec_checked(prom, ["monitoring-prometheus", "nas:9100", INTERVAL],
                        f"{prom.name}: monitoring-prometheus")
    engine.wait_until(lambda: _ready(nas, "http://localhost:9100/metrics"), 30,
                      "node_exporter answering")
    textfile = "/var/lib/prometheus/node-exporter/breaking_point_mounts.audit.prom"
    engine.wait_until(lambda: nas.exec_run(["test", "-s", textfile])[0] == 0, 60,
                      "the check's first textfile")
    engine.wait_until(lambda: _ready(prom, "http://localhost:9090/-/ready"), 60,
                      "prometheus ready")
    return {"shell": nas.name, "container": nas.name, "prometheus": prom.name,
            "prometheus_url": "http://prometheus:9090", "network": net_name,
            "mount": "/srv/nas"}


def _remount(container: Any, option: str) -> None:
    sh(container, f"mount -o remount,{option} /srv/nas", f"{container.name}: remount {option}")


BARRIER_OFF = Fault("ext4 /srv/nas remounted without write barriers (the story's NAS)",
                    lambda c: _remount(c, "nobarrier"), lambda c: _remount(c, "barrier"))


SYSTEM = System(
    NAME,
    "NAS with node_exporter + our check, and Prometheus evaluating the generated rules",
    start,
    node=container_name,
    faults={"nas": {"barrier-off": BARRIER_OFF}},
)
