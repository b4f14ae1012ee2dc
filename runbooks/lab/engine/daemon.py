"""The Docker engine on this host: apt packages, dockerd, and a client that answers."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

from .common import STATE_DIR, LabError, log, run, wait_until

ENGINE_HELP = (
    "no Docker engine answers; install one with `apt-get install docker.io` and start it "
    "(`dockerd &` or `systemctl start docker`), or run `invoke lab.setup` as root"
)


def client() -> Any:
    """A docker SDK client for an engine that answers, or LabError saying how to get one."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:  # pragma: no cover - docker is a declared dependency
        raise LabError("the docker Python package is missing: pip install docker") from None
    try:
        cl = docker.from_env(timeout=120)
        cl.ping()
    except DockerException:
        raise LabError(ENGINE_HELP) from None
    return cl


def engine_answers() -> bool:
    """True when a Docker engine answers a ping."""
    try:
        client()
    except LabError:
        return False
    return True


def apt_install(packages: list[str]) -> None:
    """Install Debian packages on this host (root only)."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise LabError(f"need {' '.join(packages)}: install them with apt-get as root")
    log(f"installing {' '.join(packages)} from Debian's packages")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-qq"], "apt-get update", env=env)
    run(["apt-get", "install", "-y", "-qq", *packages], "apt-get install", env=env)


def ensure_engine(install: bool = True) -> None:
    """Make sure an engine answers: install docker.io and start dockerd if allowed."""
    if engine_answers():
        return
    if not shutil.which("dockerd"):
        if not install:
            raise LabError(ENGINE_HELP)
        apt_install(["docker.io"])
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    logfile = STATE_DIR / "dockerd.log"
    log(f"starting dockerd (log: {logfile})")
    with open(logfile, "ab") as out:
        subprocess.Popen(
            ["dockerd"], stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True
        )
    took = wait_until(engine_answers, 60, "dockerd")
    log(f"dockerd answers after {took:.1f}s")
