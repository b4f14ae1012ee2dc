"""Runbooks over real SSH (sshd in the nas lab): host keys, quoting, undo on the same host."""

import json
import os
from pathlib import Path

import pytest

from tests.helpers import run_task

HOSTILE = "/srv/o'neil \"$(touch /tmp/pwned)\"; touch /tmp/pwned2 #"
OTHER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLWWGWWpdLFgUj0ObHqXm6Zn"

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def nas(lab):
    facts = lab.up("nas")
    yield facts, lab.container(facts["container"])
    lab.remove(facts["container"])


def invoke(*args, home=None, state=None):
    env = dict(os.environ)
    if home:
        env["HOME"] = str(home)
    if state:
        env["BP_STATE_DIR"] = str(state)
    return run_task(*args, env=env)


def ssh_args(facts, known_hosts=None):
    return ["--host", facts["ssh"], "--identity", facts["identity"],
            "--known-hosts", known_hosts or facts["known_hosts"], "--connect-timeout", "5"]


def test_audit_over_ssh_with_verified_host_key(nas):
    facts, _ = nas
    proc = invoke("mounts.audit", *ssh_args(facts), "--mount-point", "/srv/nas",
                  "--format", "nagios")
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout.startswith(
        f"MOUNTS CRITICAL - /srv/nas: nobarrier, data=writeback, errors=continue "
        f"(filesystem default) | targets=1 unreachable=0 mounts=1\n[CRIT] {facts['ssh']} /srv/nas"
    )


def test_unknown_host_key_is_refused_by_default(nas, tmp_path):
    facts, _ = nas
    proc = invoke("mounts.audit", "--host", facts["ssh"], "--identity", facts["identity"],
                  "--format", "nagios", home=tmp_path)  # an empty ~/.ssh: nothing trusted
    assert proc.returncode == 3
    assert proc.stderr.strip() == (
        f"error: {facts['ssh']}: host key not trusted (checked against ~/.ssh/known_hosts); "
        "verify it and add it, or pass --accept-new"
    )


def test_accept_new_records_an_unknown_key_once(nas, tmp_path):
    facts, _ = nas
    known = tmp_path / "known_hosts"
    args = ["--host", facts["ssh"], "--identity", facts["identity"], "--known-hosts",
            str(known), "--mount-point", "/srv/clean", "--format", "nagios"]
    first = invoke("mounts.audit", *args, "--accept-new")
    assert first.returncode == 0, first.stderr
    port = facts["ssh"].rsplit(":", 1)[1]
    assert known.read_text().startswith(f"[127.0.0.1]:{port} ssh-ed25519 ")
    assert known.read_text() == Path(facts["known_hosts"]).read_text()  # the real key
    again = invoke("mounts.audit", *args)  # now known: no --accept-new needed
    assert again.returncode == 0, again.stderr


def test_changed_host_key_is_refused(nas, tmp_path):
    facts, _ = nas
    port = facts["ssh"].rsplit(":", 1)[1]
    wrong = tmp_path / "known_hosts"
    wrong.write_text(f"[127.0.0.1]:{port} {OTHER_KEY}\n")
    proc = invoke("mounts.audit", *ssh_args(facts, str(wrong)), "--format", "json",
                  "--accept-new")  # accept-new never overrides a changed key
    assert proc.returncode == 3
    doc = json.loads(proc.stdout)
    assert doc["status"] == "UNKNOWN"
    assert doc["findings"][0]["message"].startswith("HOST KEY CHANGED")
    assert wrong.read_text() == f"[127.0.0.1]:{port} {OTHER_KEY}\n"


def test_fix_and_undo_over_ssh_quote_hostile_mount_points(nas, tmp_path):
    facts, container = nas
    for argv in (["mkdir", "-p", HOSTILE], ["truncate", "-s", "32M", "/srv/h.img"],
                 ["mkfs.ext4", "-q", "-F", "/srv/h.img"],
                 ["mount", "-o", "loop,barrier=0,errors=continue", "/srv/h.img", HOSTILE]):
        code, out = container.exec_run(argv)
        assert code == 0, out

    fixed = invoke("mounts.fix", HOSTILE, *ssh_args(facts), "--apply", state=tmp_path)
    assert fixed.returncode == 0, fixed.stderr
    audit = json.loads(invoke("mounts.audit", *ssh_args(facts), "--format", "json").stdout)
    hostile = [f for f in audit["findings"] if f["subject"] == HOSTILE]
    assert [f["message"] for f in hostile] == ["ext4: no risky options"]

    undone = invoke("changes.undo", "1", "--apply", "--identity", facts["identity"],
                    "--known-hosts", facts["known_hosts"], state=tmp_path)
    assert undone.returncode == 0, undone.stderr
    audit = json.loads(invoke("mounts.audit", *ssh_args(facts), "--format", "json").stdout)
    # errors=continue is mke2fs's superblock default, so after the undo it is "default".
    assert sorted(f["message"] for f in audit["findings"] if f["subject"] == HOSTILE) == [
        "errors=continue (filesystem default)", "nobarrier"
    ]
    code, _ = container.exec_run(["sh", "-c", "ls /tmp/pwned*"])
    assert code != 0, "a hostile mount point name ran a command over SSH"
