"""The bacula lab: a director with its SQLite catalog, a storage daemon, two file daemons.

Debian's Bacula 9.6 packages, one container per daemon on a network of their
own. The configuration is written here at start, with passwords generated for
this lab (nothing secret lives in the repository or the image). Jobs run only
when asked (no schedules), so a test or a page decides the catalog's history.
"""

from __future__ import annotations

import re
import secrets
import shlex
from typing import Any

from .. import engine
from ..faults import Daemon, Fault, daemon_faults, fill_disk
from .base import System

NAME = "bacula"

ROLES = ("dir", "sd", "fd1", "fd2")
CLIENTS = ("fd1", "fd2")
# The storage daemon writes volumes to a tmpfs this big: small enough that the
# volume-full fault fills it in an instant, big enough for many /etc backups.
BACKUP_VOLUME_SIZE = "64m"
# How long the director keeps trying an unreachable file daemon before the job
# fails (Bacula's default is 3 minutes; the lab wants a verdict within seconds).
FD_CONNECT_TIMEOUT = "10 s"
DIRECTOR = "bp-dir"
SLOW_JOB = "slow-fd1"  # waits on its client before reading: a job that can be canceled

_DIR_CONF = """\
Director {{
  Name = {director}
  DIRport = 9101
  QueryFile = "/etc/bacula/scripts/query.sql"
  WorkingDirectory = "/var/lib/bacula"
  PidDirectory = "/run/bacula"
  Maximum Concurrent Jobs = 10
  Password = "{console_password}"
  Messages = Daemon
  FD Connect Timeout = {fd_timeout}
  SD Connect Timeout = {fd_timeout}
}}

Catalog {{
  Name = LabCatalog
  dbdriver = "sqlite3"; dbname = "bacula"; dbuser = ""; dbpassword = ""
}}

Storage {{
  Name = File
  Address = sd
  SDPort = 9103
  Password = "{sd_password}"
  Device = FileStorage
  Media Type = File
  Maximum Concurrent Jobs = 10
}}

Pool {{
  Name = File
  Pool Type = Backup
  Label Format = "Vol-"
  Maximum Volume Bytes = 16M
  Maximum Volumes = 20
  Volume Retention = 30 days
  AutoPrune = yes
  Recycle = yes
}}

FileSet {{
  Name = etc
  Include {{
    Options {{
      signature = MD5
    }}
    File = /etc
  }}
}}

Messages {{
  Name = Standard
  catalog = all, !skipped, !saved
  append = "/var/log/bacula/bacula.log" = all, !skipped
}}

Messages {{
  Name = Daemon
  append = "/var/log/bacula/bacula.log" = all, !skipped
}}

JobDefs {{
  Name = lab-backup
  Type = Backup
  Level = Full
  FileSet = etc
  Storage = File
  Pool = File
  Messages = Standard
  Priority = 10
}}
{clients}
# Defined but never run: backup.status reports jobs that have no history at all.
Job {{
  Name = archive-fd2
  JobDefs = lab-backup
  Client = fd2-fd
}}

# A job that waits on its client before reading anything: the one to cancel.
Job {{
  Name = {slow_job}
  JobDefs = lab-backup
  Client = fd1-fd
  ClientRunBeforeJob = "sleep 300"
}}

Job {{
  Name = restore
  Type = Restore
  Client = fd1-fd
  FileSet = etc
  Storage = File
  Pool = File
  Messages = Standard
  Where = /tmp/bacula-restores
}}
"""

_CLIENT_BLOCK = """
Client {{
  Name = {name}-fd
  Address = {name}
  FDPort = 9102
  Catalog = LabCatalog
  Password = "{password}"
  AutoPrune = yes
}}

Job {{
  Name = backup-{name}
  JobDefs = lab-backup
  Client = {name}-fd
}}
"""

_SD_CONF = """\
Storage {{
  Name = bp-sd
  SDPort = 9103
  WorkingDirectory = "/var/lib/bacula"
  Pid Directory = "/run/bacula"
  Maximum Concurrent Jobs = 10
}}

Director {{
  Name = {director}
  Password = "{sd_password}"
}}

Device {{
  Name = FileStorage
  Media Type = File
  Archive Device = /backup
  LabelMedia = yes
  Random Access = yes
  AutomaticMount = yes
  RemovableMedia = no
  AlwaysOpen = no
}}

Messages {{
  Name = Standard
  director = {director} = all
}}
"""

_FD_CONF = """\
FileDaemon {{
  Name = {name}-fd
  FDport = 9102
  WorkingDirectory = /var/lib/bacula
  Pid Directory = /run/bacula
}}

Director {{
  Name = {director}
  Password = "{password}"
}}

Messages {{
  Name = Standard
  director = {director} = all, !skipped, !restored
}}
"""

_BCONSOLE_CONF = """\
Director {{
  Name = {director}
  DIRport = 9101
  address = localhost
  Password = "{console_password}"
}}
"""

# What each role runs, and how to start it (as the packages' units would).
DAEMONS = {
    "dir": ("bacula-dir", "bacula-dir -c /etc/bacula/bacula-dir.conf -u bacula -g bacula"),
    "sd": ("bacula-sd", "bacula-sd -c /etc/bacula/bacula-sd.conf -u bacula -g tape"),
    "fd": ("bacula-fd", "bacula-fd -c /etc/bacula/bacula-fd.conf"),
}


def container_name(prefix: str, node: str) -> str | None:
    """The container of a daemon (dir, sd, fd1, fd2) in the lab ``prefix``."""
    return f"{prefix}-bacula-{node}" if node in ROLES else None


def role_of(hostname: str) -> str:
    """dir / sd / fd for a bacula lab host name (fd1 and fd2 are both file daemons)."""
    return "fd" if hostname.startswith("fd") else hostname


def start_command(role: str) -> list[str]:
    """The command that starts (or restarts) a role's daemon, checking the config first."""
    name, command = DAEMONS[role]
    conf = command.split(" -c ")[1].split()[0]
    return ["sh", "-c", f"mkdir -p /run/bacula && chown bacula:bacula /run/bacula && "
                        f"{name} -t -c {conf} && {command}"]


def configs(passwords: dict[str, str]) -> dict[str, dict[str, str]]:
    """Every daemon's configuration files, by role, for one set of lab passwords."""
    clients = "".join(_CLIENT_BLOCK.format(name=name, password=passwords[name])
                      for name in CLIENTS)
    common = {"director": DIRECTOR, "fd_timeout": FD_CONNECT_TIMEOUT, "slow_job": SLOW_JOB,
              **passwords}
    files = {
        "dir": {"bacula-dir.conf": _DIR_CONF.format(clients=clients, **common),
                "bconsole.conf": _BCONSOLE_CONF.format(**common)},
        "sd": {"bacula-sd.conf": _SD_CONF.format(**common)},
    }
    for name in CLIENTS:
        files[name] = {"bacula-fd.conf": _FD_CONF.format(name=name, director=DIRECTOR,
                                                          password=passwords[name])}
    return files


def new_passwords() -> dict[str, str]:
    return {"console_password": secrets.token_urlsafe(24),
            "sd_password": secrets.token_urlsafe(24),
            **{name: secrets.token_urlsafe(24) for name in CLIENTS}}


def bconsole(container: Any, commands: str, what: str) -> str:
    """Feed commands to bconsole in the director's container; its output."""
    return engine.exec_checked(
        container, ["sh", "-c", f"printf '%s\\n' {shlex.quote(commands)} | bconsole"], what)


def _director_answers(container: Any) -> bool:
    code, out = container.exec_run(
        ["sh", "-c", "echo 'status client=fd2-fd' | timeout 20 bconsole"])
    text = out.decode("utf-8", "replace")
    return code == 0 and "Daemon started" in text


def run_job(container: Any, job: str) -> str:
    """Run one job to its end (bconsole's `wait`); the catalog's JobStatus for it."""
    bconsole(container, f"run job={job} yes\nwait\n", f"run {job}")
    out = bconsole(container, f"list jobname={job}\n", f"list {job}")
    rows = [line.split("|") for line in out.splitlines() if line.startswith("|")]
    return rows[-1][-2].strip() if len(rows) > 1 else "?"


def _job_state(container: Any, jobid: str) -> str:
    out = bconsole(container, ".api 2\n.status dir running\n", "director status")
    match = re.search(rf"^jobid={re.escape(jobid)}\n(?:.*\n)*?status=(\S+)", out, re.M)
    return match.group(1) if match else ""


def cancel_running_job(container: Any, job: str) -> str:
    """Start ``job``, wait until the director runs it, cancel it; the canceled JobId."""
    out = bconsole(container, f"run job={job} yes\n", f"run {job}")
    match = re.search(r"JobId=(\d+)", out)
    if not match:
        raise engine.LabError(f"run {job}: no JobId in bconsole's answer")
    jobid = match.group(1)
    engine.wait_until(lambda: _job_state(container, jobid) == "R", 30, f"JobId {jobid} running")
    bconsole(container, f"cancel jobid={jobid} yes\nwait jobid={jobid}\n", f"cancel {jobid}")
    return jobid


def start(cl: Any, prefix: str, **_: Any) -> dict[str, Any]:
    """Director (+ catalog, bconsole), storage daemon, two file daemons; own network."""
    image = engine.build_image("bacula", cl)
    net_name = f"{prefix}-bacula"
    engine.network(cl, net_name, NAME)
    files = configs(new_passwords())
    containers = {}
    for role in ROLES:
        options: dict[str, Any] = {"hostname": role, "network": net_name}
        if role == "sd":
            options["tmpfs"] = {"/backup": f"size={BACKUP_VOLUME_SIZE}"}
        if role == "dir":
            options["volumes"] = engine.repo_mount()
        containers[role] = engine.run_container(cl, image, f"{prefix}-bacula-{role}", NAME,
                                                **options)
    for role, container in containers.items():
        for name, text in files[role].items():
            engine.put_file(container, "/etc/bacula", name, text.encode(), 0o640)
        engine.exec_checked(container, ["sh", "-c", "chgrp bacula /etc/bacula/*.conf && "
                                        "chown bacula:tape /backup 2>/dev/null; true"],
                            f"{container.name}: config ownership")
        engine.exec_checked(container, start_command(role_of(role)),
                            f"{container.name}: start {DAEMONS[role_of(role)][0]}")
    director = containers["dir"]
    engine.wait_until(lambda: _director_answers(director), 40,
                      "bacula director answering and fd2 reachable")
    return {"shell": director.name, "director": director.name,
            "storage": containers["sd"].name,
            "clients": [containers[name].name for name in CLIENTS], "network": net_name,
            "jobs": [f"backup-{name}" for name in CLIENTS] + ["archive-fd2", "slow-fd1"]}


def _daemon(role: str) -> Daemon:
    process = DAEMONS[role][0]
    return Daemon(process, ("pkill", "-TERM", "-x", process), tuple(start_command(role)))


def _cancel_slow_job(container: Any) -> None:
    cancel_running_job(container, SLOW_JOB)


CANCEL_JOB = Fault(f"start {SLOW_JOB} and cancel it while it runs (the canceled run "
                   "stays in the catalog: nothing to heal)", _cancel_slow_job, None)

SYSTEM = System(
    NAME,
    "Bacula 9.6: director with SQLite catalog, storage daemon, file daemons fd1, fd2",
    start,
    node=container_name,
    role=role_of,
    faults={
        "dir": {**daemon_faults(_daemon("dir")), "cancel-job": CANCEL_JOB},
        "sd": {**daemon_faults(_daemon("sd")), **fill_disk("/backup")},
        "fd": daemon_faults(_daemon("fd")),
    },
)
