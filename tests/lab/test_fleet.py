"""Runbooks across a fleet of real sshd hosts with faults on single hosts."""

import difflib
import json
import re
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


def _link_limit(container) -> str:
    """The node's egress qdisc with its counters, as `tc -s` shows them."""
    code, out = container.exec_run(["tc", "-s", "qdisc", "show", "dev", "eth0"])
    assert code == 0, out
    return out.decode()


def test_slow_fault_throttles_a_login_and_heals(fleet):
    """The slow fault's rate limit holds back a login's packets (its counters say so,
    whatever the machine's load: a timing would not), and healing removes it."""
    facts, hosts = fleet
    faults.inject(hosts[3], "slow")
    try:
        proc = audit(facts, "--limit", "host04", "--format", "json")
        assert json.loads(proc.stdout)["metrics"]["unreachable"] == 0, proc.stderr
        limited = _link_limit(hosts[3])
    finally:
        faults.heal(hosts[3])
    assert re.search(r"qdisc tbf .* rate 24Kbit", limited), limited
    held_back = re.search(r"overlimits (\d+)", limited)
    assert held_back and int(held_back[1]) > 0, limited  # the login waited on the limit
    assert "tbf" not in _link_limit(hosts[3])
    proc = audit(facts, "--limit", "host04", "--format", "json")
    assert json.loads(proc.stdout)["metrics"]["unreachable"] == 0, proc.stderr


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


def _motd_and_manifest(container):
    """Every file of update-motd.d (name, mode, size, mtime, owner, sha256 of its bytes),
    the manifest's text and whether its folder exists. (Not the folder's own mtime: a
    host that kept it from an earlier test gets a new one when a manifest comes and goes.)"""
    code, out = container.exec_run(["sh", "-c", STATE_SCRIPT], stderr=False)
    assert code == 0
    return out.decode()


STATE_SCRIPT = ("cd /etc/update-motd.d && stat -c '%n %a %s %Y %u:%g' . * && sha256sum * && "
                "cat /var/lib/breaking-point/motd-manifest 2>/dev/null; "
                "ls -d /var/lib/breaking-point 2>/dev/null; true")


def _differing(hosts, before, first=1):
    """The hosts (host01 is ``hosts[0]`` unless ``first`` says otherwise) whose
    update-motd.d or manifest differ from ``before``, with the diff."""
    found = {}
    for i, host in enumerate(hosts, first):
        now = _motd_and_manifest(host)
        if now != before[i - first]:
            found[f"host{i:02d}"] = "".join(difflib.unified_diff(
                before[i - first].splitlines(True), now.splitlines(True)))
    return found


def _rollout(facts, env, task, *args):
    # input="": no terminal, as from cron or CI
    return run_task(task, "--hosts", "@" + facts["inventory"], "--known-hosts",
                    facts["known_hosts"], "--identity", facts["identity"], *args,
                    env=env, timeout=300, input="")


def test_a_rollout_stops_at_its_failure_budget_and_its_undo_puts_every_host_back(
        fleet, tmp_path):
    facts, hosts = fleet
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "BP_STATE_DIR": str(tmp_path / "s")}
    before = [_motd_and_manifest(h) for h in hosts]
    plan = _rollout(facts, env, "login.trim-motd", "--format", "json", "--threshold", "0.15")
    doc = json.loads(plan.stdout)
    assert plan.returncode == 0, plan.stderr
    # Which scripts are slow can differ from host to host on a loaded machine: hosts
    # with the same plan are one group, and every host would change.
    assert doc["summary"].startswith("login.trim-motd on 20 hosts: ")
    assert {g["state"] for g in doc["groups"]} == {"change"}
    counts = re.findall(r"(\d+) would change", doc["summary"])
    assert sum(map(int, counts)) == sum(len(g["hosts"]) for g in doc["groups"]) == 20
    assert sum(len(g["hosts"]) for g in doc["groups"] if g["state"] == "change") == 20

    refused = _rollout(facts, env, "login.trim-motd", "--apply")
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.startswith("error: refusing to change 20 hosts without a "
                                     "confirmation")
    assert _differing(hosts, before) == {}

    faults.inject(hosts[4], "chmod-fails")  # host05, in the first wave after the canary
    try:
        rolled = _rollout(facts, env, "login.trim-motd", "--apply", "--yes", "--parallel", "4",
                          "--threshold", "0.15")
    finally:
        faults.heal(hosts[4])
    assert rolled.returncode == 1, rolled.stderr
    out = rolled.stdout
    assert "host01: done (canary)" in out
    assert "rollout 1 stopped: 1 failed, more than --max-failures 0" in out
    assert "host05: FAILED: stopped at step 3" in out and "left as it was" in out
    untouched = ", ".join(f"host{i:02d}" for i in range(6, 21))
    assert f"not reached, untouched (15): {untouched}" in out
    # host01..04 trimmed; host05 as before, host06..20 never touched
    assert sorted(_differing(hosts, before)) == [f"host{i:02d}" for i in range(1, 5)]

    listing = run_task("changes.list", env=env).stdout.splitlines()
    heads = [line for line in listing if line.split()[0].isdigit()]
    assert len(heads) == 1 and "rollout:20 hosts  stopped" in heads[0], listing

    undone = run_task("changes.undo", "1", "--apply", "--yes", env=env, timeout=300, input="")
    assert undone.returncode == 0, undone.stderr + undone.stdout
    assert _differing(hosts, before) == {}
    listing = run_task("changes.list", env=env).stdout.splitlines()
    heads = [line for line in listing if line.split()[0].isdigit()]
    assert len(heads) == 2 and "undone" in heads[0] and "undo of rollout 1" in heads[1]


def _on_a_terminal(args, env, answers, timeout=240):
    """Run ``invoke ARGS`` on a pseudo-terminal, answering each [y/N] question in turn;
    returns (exit status, everything it wrote)."""
    import os
    import select

    master, slave = os.openpty()
    proc = subprocess.Popen([*INVOKE, *args], cwd=REPO, env=env, stdin=slave, stdout=slave,
                            stderr=slave)
    os.close(slave)
    out, asked, deadline = b"", 0, time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the other side closed: the task ended
                break
            if not chunk:
                break
            out += chunk
        if out.count(b"[y/N]") > asked and asked < len(answers):
            os.write(master, answers[asked].encode() + b"\n")
            asked += 1
    os.close(master)
    return proc.wait(timeout=30), out.decode(errors="replace").replace("\r\n", "\n")


def test_on_a_terminal_a_rollout_asks_before_the_canary_and_before_the_waves(fleet, tmp_path):
    facts, hosts = fleet
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "BP_STATE_DIR": str(tmp_path / "s")}
    chosen = [hosts[6], hosts[7], hosts[8]]  # host07..09
    before = [_motd_and_manifest(h) for h in chosen]
    args = ["login.trim-motd", "--hosts", "@" + facts["inventory"], "--limit",
            "host07,host08,host09", "--known-hosts", facts["known_hosts"], "--identity",
            facts["identity"], "--threshold", "0.15", "--apply"]
    code, out = _on_a_terminal(args, env, ["n"])
    assert code == 2 and "change the canary 1 host(s) now? [y/N]" in out, out
    assert "not confirmed: nothing changed" in out
    assert _differing(chosen, before, 7) == {}

    code, out = _on_a_terminal(args, env, ["y", "n"])
    assert code == 1, out
    assert "canary host07 done and verified; change the other 2 hosts in waves of 16?" in out
    assert "stopped: not confirmed after the canary" in out
    assert sorted(_differing(chosen, before, 7)) == ["host07"]
    undone = run_task("changes.undo", "1", "--apply", "--yes", env=env, timeout=300, input="")
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert _differing(chosen, before, 7) == {}
