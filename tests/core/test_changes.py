"""The change journal: distinct ids under concurrency, atomic rewrites, damaged lines,
and everything an undo needs to reach the target a change was made on."""

import json
import multiprocessing
import os
import subprocess
import sys

import pytest

from runbooks.core import changes
from runbooks.core.errors import RunbookError, UsageError
from runbooks.core.targets import LocalTarget, SSHTarget
from tests.helpers import INVOKE, REPO, run_task

STEP = {"description": "touch a file", "argv": ["touch", "f"], "undo": ["rm", "-f", "f"]}


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("BP_STATE_DIR", str(tmp_path))
    # This machine's own record of changes (core.hostrecord) stays in the test's folder.
    monkeypatch.setenv("BP_HOST_RECORD", str(tmp_path / "host" / "changes.jsonl"))
    return tmp_path


def old_record(change_id, target="localhost", kind="local", undo=("true",)):
    """A journal line as it was written before the journal kept ``reach``."""
    return json.dumps({"id": change_id, "time": "2026-01-02T03:04:05Z", "runbook": "demo",
                       "target": target, "target_kind": kind, "undone": False,
                       "steps": [{"description": f"step of {change_id}", "argv": ["true"],
                                  "undo": list(undo)}]}, sort_keys=True)


def _record_many(worker: int, count: int) -> None:
    target = LocalTarget()
    for number in range(count):
        changes.record_change(f"worker{worker}", target,
                              [{**STEP, "description": f"{worker}/{number}"}])


def test_concurrent_records_get_distinct_ids_and_all_survive(state):
    workers, each = 6, 15
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_record_many, args=(w, each)) for w in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    entries = changes.read_journal()
    assert sorted(e["id"] for e in entries) == list(range(1, workers * each + 1))
    assert {e["steps"][0]["description"] for e in entries} == {
        f"{w}/{n}" for w in range(workers) for n in range(each)}


def test_a_damaged_line_is_reported_once_and_the_others_stay_usable(state, capsys):
    journal = state / "changes.jsonl"
    damaged = '{"id": 2, "time": "2026-01-02T03:04:05Z", "runb'  # cut off by a crash
    journal.write_text("\n".join([old_record(1), damaged, old_record(3)]) + "\n")

    assert [e["id"] for e in changes.read_journal()] == [1, 3]
    changes.read_journal()
    err = capsys.readouterr().err.splitlines()
    assert err == [f"warning: {journal}:2: damaged journal line, skipped (kept in the file as "
                   "it is); the other changes are usable"]

    # the damaged line's id is not handed out again, and rewrites keep the line as it is
    assert changes.record_change("demo", LocalTarget(), [STEP]) == 4
    changes.mark_undone(1)
    lines = journal.read_text().splitlines()
    assert lines[1] == damaged and len(lines) == 4
    assert json.loads(lines[0])["undone"] and not json.loads(lines[2])["undone"]


@pytest.mark.parametrize("line", [
    '{"id": "7", "time": "t", "runbook": "r", "target": "t", "target_kind": "local", '
    '"steps": []}',
    '{"id": 7, "time": "t", "runbook": "r", "target": "t", "target_kind": "local", '
    '"steps": [{"description": "x", "argv": "rm -rf /"}]}',
    "[1, 2, 3]",
])
def test_a_line_that_is_json_but_not_a_change_is_damaged(state, line, capsys):
    (state / "changes.jsonl").write_text(line + "\n" + old_record(8) + "\n")
    assert [e["id"] for e in changes.read_journal()] == [8]
    assert "changes.jsonl:1: damaged journal line" in capsys.readouterr().err


FULL_DISK = """
import resource, signal, sys
from runbooks.core import changes
from runbooks.core.errors import RunbookError
from runbooks.core.targets import LocalTarget
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
for attempt in (lambda: changes.mark_undone(1),
                lambda: changes.record_change("demo", LocalTarget(), [{
                    "description": "d", "argv": ["touch", "f"], "undo": ["rm", "-f", "f"]}])):
    try:
        attempt()
    except RunbookError as exc:
        print(exc)
    else:
        print("no error")
"""


def test_a_failed_rewrite_leaves_the_old_journal_intact(state):
    journal = state / "changes.jsonl"
    journal.write_text("".join(old_record(n) + "\n" for n in range(1, 6)))
    before = journal.read_bytes()
    # The process may not write files larger than the journal plus a few bytes: the
    # rewrite fails half-way through, as it would on a full disk.
    proc = subprocess.run([sys.executable, "-c", FULL_DISK, str(len(before) + 10)], cwd=REPO,
                          capture_output=True, text=True, check=False, timeout=60,
                          env={**os.environ, "BP_STATE_DIR": str(state)})
    undone, recorded = proc.stdout.splitlines()
    assert undone.startswith("change 1 was undone, but the journal") and \
        "File too large" in undone, proc.stdout + proc.stderr
    assert "changed, but the journal" in recorded and "undo by hand on localhost: rm -f f" \
        in recorded
    assert journal.read_bytes() == before
    assert sorted(p.name for p in state.iterdir()) == ["changes.jsonl", "changes.jsonl.lock"]


def test_a_rewrite_keeps_the_journal_mode(state):
    journal = state / "changes.jsonl"
    journal.write_text(old_record(1) + "\n")
    journal.chmod(0o640)
    changes.mark_undone(1)
    assert journal.stat().st_mode & 0o777 == 0o640
    assert changes.read_journal()[0]["undone"]


def test_an_ssh_change_records_how_to_reach_its_target(state, monkeypatch):
    monkeypatch.chdir(state)
    monkeypatch.setenv("HOME", str(state))  # no ~/.ssh/config here
    target = SSHTarget("127.0.0.1", port=2202, user="root", known_hosts="kh",
                       identity="keys/id")
    target.name = "host02"  # an inventory alias
    change_id = changes.record_change("demo", target, [STEP])
    (entry,) = changes.read_journal()
    assert entry["target"] == "host02" and entry["target_kind"] == "ssh"
    assert entry["reach"] == {"host": "127.0.0.1", "port": 2202, "user": "root",
                              "known_hosts": str(state / "kh"),
                              "identity": str(state / "keys/id"), "ssh_config": None}

    again = changes.target_of(entry)
    assert isinstance(again, SSHTarget) and again.name == "host02"
    assert (again.host, again.port, again.user) == ("127.0.0.1", 2202, "root")
    assert (again.known_hosts, again.identity) == (str(state / "kh"), str(state / "keys/id"))
    given = changes.target_of(entry, known_hosts="/k", identity="/i")
    assert (given.known_hosts, given.identity) == ("/k", "/i")
    assert change_id == 1


def test_the_ssh_config_in_use_is_recorded_and_used_again(state, monkeypatch):
    monkeypatch.setenv("HOME", str(state))
    config = state / ".ssh" / "config"
    config.parent.mkdir()
    config.write_text("Host web1\n  HostName 127.0.0.1\n  Port 2201\n")
    changes.record_change("demo", SSHTarget("web1"), [STEP])
    (entry,) = changes.read_journal()
    assert entry["reach"]["ssh_config"] == str(config)
    monkeypatch.setenv("HOME", "/nonexistent")  # undo from a shell with another HOME
    assert changes.target_of(entry).config == str(config)


def test_an_ipv6_address_survives_the_round_trip(state):
    target = SSHTarget("[2001:db8::5]", port=2222)
    changes.record_change("demo", target, [STEP])
    again = changes.target_of(changes.read_journal()[0])
    assert (again.host, again.port) == ("2001:db8::5", 2222)


def test_old_records_are_reached_by_name_as_before(state):
    journal = state / "changes.jsonl"
    journal.write_text(old_record(1, "web1", "ssh") + "\n" + old_record(2, "c1", "container")
                       + "\n" + old_record(3) + "\n")
    ssh, container, local = (changes.target_of(e, known_hosts="/k")
                             for e in changes.read_journal())
    assert isinstance(ssh, SSHTarget) and (ssh.host, ssh.port, ssh.known_hosts) == \
        ("web1", None, "/k")
    assert (container.kind, container.name) == ("container", "c1")
    assert local.kind == "local"


def test_recorded_addresses_are_checked_again(state, tmp_path):
    marker = tmp_path / "pwned"
    entry = json.loads(old_record(1, "host02", "ssh"))
    entry["reach"] = {"host": f"$(touch {marker})", "port": 22, "user": "root"}
    with pytest.raises(UsageError, match="invalid host name"):
        changes.target_of(entry)
    entry["reach"] = {"host": "10.0.0.1", "port": 22, "user": "root; reboot"}
    with pytest.raises(UsageError, match="invalid user name"):
        changes.target_of(entry)
    assert not marker.exists()


def test_local_and_container_changes_record_no_reach(state):
    changes.record_change("demo", LocalTarget(), [STEP])
    assert "reach" not in changes.read_journal()[0]


def test_a_failed_journal_write_after_a_change_is_one_line_with_the_undo(state):
    (state / "changes.jsonl").mkdir()  # the journal cannot be replaced: a directory is there
    with pytest.raises(RunbookError) as caught:
        changes.record_change("demo", LocalTarget(), [STEP, {**STEP, "undo": ["rm", "g"]}])
    message = str(caught.value)
    assert "\n" not in message
    assert message.endswith("undo by hand on localhost: rm g; rm -f f")


def _invoke(state, *args):
    return subprocess.Popen([*INVOKE, *args], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "BP_STATE_DIR": str(state)})


def test_two_concurrent_apply_runs_both_appear_in_changes_list(state):
    """Two `changes.undo --apply` runs at once (of records in the old format, on this
    host): both undos are journaled under their own ids, and both originals are marked."""
    done = state / "done"
    journal = state / "changes.jsonl"
    journal.write_text("".join(
        old_record(n, undo=["sh", "-c", 'sleep 0.5; echo "$1" >> "$2"', "sh", str(n), str(done)])
        + "\n" for n in (1, 2)))
    runs = [_invoke(state, "changes.undo", str(n), "--apply") for n in (1, 2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert sorted(done.read_text().split()) == ["1", "2"]
    recorded = sorted(line for out, _ in outputs for line in out.splitlines()
                      if line.startswith("recorded as change"))
    assert [line.split(";")[0] for line in recorded] == ["recorded as change 3",
                                                         "recorded as change 4"]

    listing = run_task("changes.list", env={**os.environ, "BP_STATE_DIR": str(state)})
    heads = [line.split() for line in listing.stdout.splitlines() if line.split()[0].isdigit()]
    assert [(h[0], "undone" if "undone" in h else h[-1]) for h in heads] == [
        ("1", "undone"), ("2", "undone"), ("3", "applied"), ("4", "applied")], listing.stdout
    assert {" ".join(h[2:7]) for h in heads[2:]} == {"undo of change 1 local:localhost",
                                                     "undo of change 2 local:localhost"}


def _runner(records, lines, failure="", error=None):
    async def run(target):
        if error:
            raise RunbookError(error)
        return changes.Outcome(records, lines, failure)

    return run


def test_a_step_that_runs_itself_journals_its_records_and_why_they_have_no_undo(state):
    import asyncio
    import io

    done = {"description": "repair f", "argv": ["repair", "f"], "undo": None,
            "no_undo": "repair cannot be undone", "result": {"erased": 1}}
    plan = changes.Plan("demo", LocalTarget(), preview="dry run: would repair f\n")
    plan.add(changes.Step("copy f aside", ["true"], None))
    plan.add(changes.Step("repair 1 file", ["repair"], None, no_undo="repair cannot be undone",
                          run=_runner([done], ["f: 1 erased"])))
    dry = io.StringIO()
    assert asyncio.run(changes.apply_plan(plan, False, dry)) == 0
    assert dry.getvalue() == "dry run: would repair f\n"
    out = io.StringIO()
    assert asyncio.run(changes.apply_plan(plan, True, out)) == 1
    assert out.getvalue() == ("done: copy f aside\nf: 1 erased\n"
                              "recorded as change 1 (repair cannot be undone)\n")
    (entry,) = changes.read_journal()
    assert entry["steps"] == [{"description": "copy f aside", "argv": ["true"], "undo": None},
                              done]


def test_a_step_that_fails_while_running_itself_stops_the_plan_after_journalling(state):
    import asyncio
    import io

    plan = changes.Plan("demo", LocalTarget())
    plan.add(changes.Step("touch a file", ["true"], ["rm", "-f", "f"]))
    plan.add(changes.Step("copy aside", ["cp"], None, run=_runner([], [], error="cp: no space")))
    plan.add(changes.Step("never", ["false"], None))
    out = io.StringIO()
    with pytest.raises(RunbookError, match=r"^localhost: stopped at step 2: copy aside: "
                                           r"cp: no space$"):
        asyncio.run(changes.apply_plan(plan, True, out))
    (entry,) = changes.read_journal()
    assert [s["description"] for s in entry["steps"]] == ["touch a file"]
    assert "recorded as change 1; undo with: invoke changes.undo 1 --apply" in out.getvalue()


def test_undo_says_why_a_step_cannot_be_undone(state):
    changes.record_change("demo", LocalTarget(), [
        STEP, {"description": "repair f", "argv": ["repair", "f"], "undo": None,
               "no_undo": "repair cannot be undone"}])
    proc = run_task("changes.undo", "1", env={**os.environ, "BP_STATE_DIR": str(state)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "cannot undo automatically: repair f (repair cannot be undone)" in proc.stdout
