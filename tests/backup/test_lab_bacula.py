"""backup.status against a real Bacula 9.6 director, storage daemon and file daemons."""

import json
import time

import pytest

from runbooks.lab import faults
from runbooks.lab.systems import bacula
from tests.helpers import run_task

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def bacula_lab(lab):
    facts = lab.up_with("bacula")
    containers = {role: lab.container(f"{facts['prefix']}-bacula-{role}")
                  for role in bacula.ROLES}
    yield facts, containers
    lab.remove_prefix(facts["prefix"])


def status(director_name, *extra):
    proc = run_task("backup.status", "--container", director_name, *extra)
    return proc


def findings(director_name):
    proc = status(director_name, "--format", "json")
    return {f["subject"]: f for f in json.loads(proc.stdout)["findings"]}


def test_fresh_director_reports_jobs_and_clients_that_never_ran(bacula_lab):
    facts, _ = bacula_lab
    proc = status(facts["director"], "--format", "nagios")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.startswith("BACKUP WARNING - ")
    for name in ("backup-fd1", "backup-fd2", "archive-fd2", "client fd1-fd", "client fd2-fd"):
        assert name in proc.stdout


def test_failed_client_is_critical_and_the_good_one_ok(bacula_lab):
    facts, nodes = bacula_lab
    assert bacula.run_job(nodes["dir"], "backup-fd1") == "T"
    faults.inject(nodes["fd2"], "stop")
    try:
        assert bacula.run_job(nodes["dir"], "backup-fd2") == "f"
    finally:
        faults.heal(nodes["fd2"])
    proc = status(facts["director"], "--format", "nagios")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith("BACKUP CRITICAL - backup-fd2 on fd2-fd: last run JobId 2 f "
                            "(fatal error)"), first
    assert "Unable to connect to Client: fd2-fd" in first
    seen = findings(facts["director"])
    assert seen["backup-fd1 on fd1-fd"]["severity"] == "OK"
    assert seen["backup-fd1 on fd1-fd"]["data"]["last"]["files"] > 100
    assert seen["backup-fd2 on fd2-fd"]["severity"] == "CRIT"
    # The client is back: its next run is good again and the verdict follows.
    assert bacula.run_job(nodes["dir"], "backup-fd2") == "T"
    seen = findings(facts["director"])
    assert seen["backup-fd2 on fd2-fd"]["severity"] == "OK"


def test_full_storage_volume_fails_the_job_with_the_reason(bacula_lab):
    facts, nodes = bacula_lab
    faults.inject(nodes["sd"], "fill-disk")
    try:
        assert bacula.run_job(nodes["dir"], "backup-fd1") in ("f", "E")
    finally:
        faults.heal(nodes["sd"])
    fd1 = findings(facts["director"])["backup-fd1 on fd1-fd"]
    assert fd1["severity"] == "CRIT"
    assert "Out of freespace" in fd1["message"] and "last good JobId 1" in fd1["message"]


def test_canceled_job_is_decoded(bacula_lab):
    facts, nodes = bacula_lab
    faults.inject(nodes["dir"], "cancel-job")
    slow = findings(facts["director"])[f"{bacula.SLOW_JOB} on fd1-fd"]
    assert "A (canceled)" in slow["message"]
    assert slow["data"]["last"]["status"] == "A"


def test_unreachable_director_is_unknown_with_the_reason_within_the_timeout(bacula_lab):
    facts, nodes = bacula_lab
    faults.inject(nodes["dir"], "stop")
    try:
        start = time.monotonic()
        proc = status(facts["director"], "--format", "nagios", "--timeout", "20")
        elapsed = time.monotonic() - start
    finally:
        faults.heal(nodes["dir"])
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert proc.stdout.startswith("BACKUP UNKNOWN - ")
    assert "director at localhost:9101 (Connection refused)" in proc.stdout
    assert elapsed < 20 + 60  # the 20 s time-out is honoured (margin: a loaded machine)
    assert "Traceback" not in proc.stderr


def test_director_that_never_answers_hits_the_timeout(bacula_lab):
    facts, nodes = bacula_lab
    # SIGSTOP: the port stays open and accepts, nothing answers.
    nodes["dir"].exec_run(["pkill", "-STOP", "-x", "bacula-dir"])
    try:
        start = time.monotonic()
        proc = status(facts["director"], "--format", "nagios", "--timeout", "5")
        elapsed = time.monotonic() - start
    finally:
        nodes["dir"].exec_run(["pkill", "-CONT", "-x", "bacula-dir"])
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "no answer from the director at localhost:9101 within 5s" in proc.stdout
    assert elapsed < 5 + 60  # the 5 s time-out is honoured (margin: a loaded machine)


def test_hostile_config_path_is_data_not_code(bacula_lab):
    facts, nodes = bacula_lab
    hostile = "/tmp/x'; touch /tmp/pwned; echo '$(touch /tmp/pwned2)"
    proc = status(facts["director"], "--config", hostile)
    assert proc.returncode == 3
    assert proc.stderr.strip().splitlines()[-1] == (
        f"error: {facts['director']}: cannot read bconsole configuration {hostile} (give "
        "--config, "
        "or run as a user that may read it)")
    code, _ = nodes["dir"].exec_run(["sh", "-c", "ls /tmp/pwned /tmp/pwned2"])
    assert code != 0


def test_host_without_bconsole_is_a_one_line_error(bacula_lab):
    facts, _ = bacula_lab
    proc = run_task("backup.status", "--container", facts["storage"], "--config", "/nonexistent")
    # The storage daemon's host has the bacula-console package too (one image):
    # the missing piece there is the configuration.
    assert proc.returncode == 3
    assert "cannot read bconsole configuration /nonexistent" in proc.stderr
    assert "Traceback" not in proc.stderr


RESTRICTED_CONSOLE = """
Console {
  Name = operator
  Password = "operator-lab-password"
  JobACL = no-such-job
  ClientACL = no-such-client
  StorageACL = *all*
  ScheduleACL = *all*
  PoolACL = *all*
  FileSetACL = *all*
  CatalogACL = *all*
  CommandACL = *all*
  WhereACL = *all*
}
"""
RESTRICTED_BCONSOLE = """Director {
  Name = bp-dir
  DIRport = 9101
  address = localhost
  Password = "unused"
}
Console {
  Name = operator
  Password = "operator-lab-password"
}
"""


def test_a_console_that_sees_no_job_is_unknown_not_ok(bacula_lab):
    # No false green: a named Console whose ACLs hide every job and client sees an
    # empty director; the check must say it looked at nothing.
    facts, nodes = bacula_lab
    script = ("printf '%s' \"$1\" >> /etc/bacula/bacula-dir.conf && "
              "printf '%s' \"$2\" > /etc/bacula/bconsole-operator.conf && "
              "echo reload | bconsole")
    code, out = nodes["dir"].exec_run(["sh", "-c", script, "sh", RESTRICTED_CONSOLE,
                                       RESTRICTED_BCONSOLE])
    assert code == 0, out
    proc = status(facts["director"], "--config", "/etc/bacula/bconsole-operator.conf",
                  "--format", "json")
    doc = json.loads(proc.stdout)
    (scope,) = [f for f in doc["findings"] if f["check"] == "backup.status.scope"]
    assert scope["severity"] == "UNKNOWN"
    assert scope["message"].startswith(
        "the director shows this console no backup job and no client "
        "(its JobACL and ClientACL may hide them): ")  # then what was judged: runs or none
    # The catalog's history is still judged: a failed run earlier in this module
    # outranks UNKNOWN; without one, UNKNOWN is the verdict.
    crit = any(f["severity"] == "CRIT" for f in doc["findings"])
    assert proc.returncode == (2 if crit else 3), proc.stdout + proc.stderr
    # The full console still sees everything, with the same catalog.
    full = json.loads(status(facts["director"], "--format", "json").stdout)
    assert not [f for f in full["findings"] if f["check"] == "backup.status.scope"]
