"""Runbooks across a fleet of real sshd hosts with faults on single hosts."""

import json
import subprocess
import time
from pathlib import Path

import pytest

from runbooks.lab import faults
from tests.helpers import INVOKE, REPO, run_task

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def fleet(lab):
    facts = lab.up_with("fleet", size=20)
    yield facts, [lab.container(name) for name in facts["containers"]]
    lab.remove_prefix(facts["prefix"])


def audit(facts, *args):
    return run_task("mounts.audit", "--hosts", "@" + facts["inventory"],
                    "--known-hosts", facts["known_hosts"], "--identity", facts["identity"],
                    "--mount-point", "/etc/hosts", *args, timeout=300)


def test_twenty_hosts_four_broken_nothing_hangs(fleet):
    facts, hosts = fleet
    broken = {"host03": "isolate", "host07": "first-packet-drop",
              "host11": "wrong-host-key", "host15": "stop"}
    for name, kind in broken.items():
        faults.inject(hosts[int(name[4:]) - 1], kind)
    try:
        start = time.monotonic()
        proc = audit(facts, "--connect-timeout", "3", "--format", "json")
        took = time.monotonic() - start
        # 3 tries of 3 s and 1.5 s of backoff for the black hole, not asyncssh's 2 minutes:
        # the time-outs are honoured (the margin holds on a loaded 2-core machine)
        assert took < 60, took
        doc = json.loads(proc.stdout)
        unreachable = {f["target"]: f["message"] for f in doc["findings"]
                       if f["check"] == "mounts.audit.reach"}
        by_host = {f"host{i:02d}": unreachable.get(f"host{i:02d}") for i in range(1, 21)}
        assert by_host["host07"] is None, "a first dropped packet must not fail a host"
        assert "no SSH answer" in by_host["host03"] and "after 3 attempts" in by_host["host03"]
        assert by_host["host11"].startswith("HOST KEY CHANGED")
        assert by_host["host15"] is not None
        assert sum(1 for v in by_host.values() if v) == 3
        assert doc["metrics"]["unreachable"] == 3 and proc.returncode == 3
        assert doc["metrics"]["mounts"] == 17
    finally:
        for name in broken:
            faults.heal(hosts[int(name[4:]) - 1])


def test_limit_selects_a_group_and_healed_hosts_answer(fleet):
    facts, _ = fleet
    proc = audit(facts, "--limit", "even", "--format", "json")
    doc = json.loads(proc.stdout)
    assert doc["metrics"]["targets"] == 10 and doc["metrics"]["unreachable"] == 0


def test_inventory_syntax_error_names_file_and_line(tmp_path):
    bad = tmp_path / "inv.ini"
    bad.write_text("[fleet]\nhost01 ansible_port\n")
    proc = run_task("mounts.audit", "--hosts", f"@{bad}")
    assert proc.returncode == 3
    assert proc.stderr.strip() == (f"error: {bad}:2: expected key=value after the host, "
                                   "found 'ansible_port'")


def _login(facts, task, host, *args):
    port = next(line.split("ansible_port=")[1].split()[0]
                for line in Path(facts["inventory"]).read_text().splitlines()
                if line.startswith(host + " "))
    return run_task(f"login.{task}", "--host", f"root@127.0.0.1:{port}",
                    "--known-hosts", facts["known_hosts"], "--identity", facts["identity"],
                    *args, timeout=300)


def _motd_state(container):
    return container.exec_run(["sh", "-c", "cd /etc/update-motd.d && stat -c '%a %s %n' * && "
                                           "sha256sum *"]).output.decode()


def test_trim_motd_saves_login_time_and_restore_is_exact(fleet):
    facts, hosts = fleet
    before_state = _motd_state(hosts[1])
    before = json.loads(_login(facts, "cost", "host02", "--format", "json").stdout)
    assert before["findings"][0]["severity"] == "WARN"

    first = _login(facts, "trim-motd", "host02", "--apply")
    assert first.returncode == 0, first.stderr
    assert "done: stop 90-updates-available" in first.stdout
    second = _login(facts, "trim-motd", "host02", "--apply")
    assert second.stdout.strip().endswith("nothing to change")

    after = json.loads(_login(facts, "cost", "host02", "--format", "json").stdout)
    assert after["findings"][0]["severity"] == "OK"
    saved = before["metrics"]["motd_seconds"] - after["metrics"]["motd_seconds"]
    assert saved > 0.5, (before["metrics"], after["metrics"])  # the sleeps alone are 0.6 s

    restored = _login(facts, "restore-motd", "host02", "--apply")
    assert restored.returncode == 0, restored.stderr
    assert _motd_state(hosts[1]) == before_state
    again = _login(facts, "restore-motd", "host02", "--apply")
    assert again.returncode == 3 and "nothing to restore" in again.stderr


def test_ctrl_c_stops_cleanly_and_reports_what_finished(fleet):
    import signal

    facts, hosts = fleet
    faults.inject(hosts[2], "isolate")  # host03 would hang until its time-outs
    try:
        proc = subprocess.Popen(
            [*INVOKE, "mounts.audit", "--hosts", "@" + facts["inventory"],
             "--known-hosts", facts["known_hosts"], "--identity", facts["identity"],
             "--mount-point", "/etc/hosts", "--connect-timeout", "30", "--format", "json"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(5)  # the 19 healthy hosts answer within a second or two
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        doc = json.loads(out)
        reach = {f["target"]: f["message"] for f in doc["findings"]
                 if f["check"].endswith(".reach")}
        assert reach == {"host03": "interrupted before it finished"}
        assert "interrupted: 19 of 20 targets finished" in err
        assert "Traceback" not in err and proc.returncode == 3
    finally:
        faults.heal(hosts[2])


def test_ssh_config_user_port_identity_and_proxyjump_are_honoured(fleet, tmp_path):
    facts, hosts = fleet
    lines = Path(facts["known_hosts"]).read_text().splitlines()
    ports = {f"host{i:02d}": line.split("]:")[1].split()[0] for i, line in enumerate(lines, 1)}
    key_of = {f"host{i:02d}": " ".join(line.split()[1:3]) for i, line in enumerate(lines, 1)}
    hosts[1].reload()
    inner_ip = next(iter(hosts[1].attrs["NetworkSettings"]["Networks"].values()))["IPAddress"]
    ssh = tmp_path / ".ssh"
    ssh.mkdir(mode=0o700)
    (ssh / "config").write_text(
        f"Host web1\n  HostName 127.0.0.1\n  Port {ports['host01']}\n  User root\n"
        f"  IdentityFile {facts['identity']}\n"
        f"Host web2\n  HostName {inner_ip}\n  User root\n  IdentityFile {facts['identity']}\n"
        f"  ProxyJump web1\n")
    (ssh / "known_hosts").write_text(f"[127.0.0.1]:{ports['host01']} {key_of['host01']}\n"
                                     f"{inner_ip} {key_of['host02']}\n")
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = run_task("mounts.audit", "--host", "web1,web2", "--mount-point", "/etc/hostname",
                    "--format", "json", env=env)
    doc = json.loads(proc.stdout)
    assert doc["metrics"]["unreachable"] == 0, proc.stderr
    assert {f["target"] for f in doc["findings"]} == {"web1", "web2"}


def test_slow_fault_slows_a_login_and_heals(fleet):
    facts, hosts = fleet
    def login_time():
        start = time.monotonic()
        proc = audit(facts, "--limit", "host04", "--format", "json")
        assert json.loads(proc.stdout)["metrics"]["unreachable"] == 0, proc.stderr
        return time.monotonic() - start
    normal = login_time()
    faults.inject(hosts[3], "slow")
    try:
        slowed = login_time()
    finally:
        faults.heal(hosts[3])
    assert slowed > normal + 1.0, (normal, slowed)
    assert login_time() < slowed


def _changed_state(container):
    """What login.trim-motd touches on a host, exactly: update-motd.d as a tar (names,
    contents, modes, owners, times) and /var/lib, where the manifest's folder goes. The
    tar is in name order: a chmod copies a file up in the container's overlayfs, which
    changes the order in which the directory lists its files, not the files."""
    code, tar = container.exec_run(["tar", "-C", "/", "--sort=name", "--numeric-owner",
                                    "-cf", "-", "etc/update-motd.d"])
    assert code == 0
    _, listing = container.exec_run(["sh", "-c", "ls -lAn --time-style=+%s /var/lib; "
                                     "find /var/lib/breaking-point 2>&1"])
    return tar, listing.decode()


def _invoke(env, *args):
    return run_task(*args, env=env, timeout=300)


def test_undo_through_an_inventory_host_puts_it_back_byte_for_byte(fleet, tmp_path):
    facts, hosts = fleet
    host = hosts[5]  # host06: no other test changes it
    before = _changed_state(host)
    # No ~/.ssh, no agent, no BP_* fleet variables: only what the journal kept can reach it.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "BP_STATE_DIR": str(tmp_path / "s")}
    applied = _invoke(env, "login.trim-motd", "--hosts", "@" + facts["inventory"], "--limit",
                      "host06", "--known-hosts", facts["known_hosts"], "--identity",
                      facts["identity"], "--apply")
    assert applied.returncode == 0, applied.stderr
    assert "recorded as change 1; undo with: invoke changes.undo 1 --apply" in applied.stdout
    trimmed = _changed_state(host)
    assert trimmed != before

    faults.inject(host, "wrong-host-key")  # the undo verifies the host key like any run
    try:
        refused = _invoke(env, "changes.undo", "1", "--apply")
    finally:
        faults.heal(host)
    assert refused.returncode == 3 and "host06: HOST KEY CHANGED" in refused.stderr
    assert _changed_state(host) == trimmed

    undone = _invoke(env, "changes.undo", "1", "--apply")
    assert undone.returncode == 0, undone.stderr
    assert "change 1 marked as undone" in undone.stdout
    assert _changed_state(host) == before

    listing = _invoke(env, "changes.list").stdout.splitlines()
    heads = [line.split() for line in listing if line.split()[0].isdigit()]
    assert [(h[0], h[-2] if "undone" in h else h[-1]) for h in heads] == [
        ("1", "undone"), ("2", "applied")]
    assert "ssh:host06" in heads[0] and "ssh:host06" in heads[1]
