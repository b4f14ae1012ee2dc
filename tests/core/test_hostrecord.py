"""The host record (runbooks.core.hostrecord): parsing, what it says may be undone, and
writing it for real through a shell on this machine (hostile text, large records, a
record that cannot be written). Undos from it on real hosts: tests/mounts/test_lab.py."""

from __future__ import annotations

import asyncio
import io
import json
import stat

import pytest

from runbooks.core import changes, hostrecord
from runbooks.core.errors import RunbookError
from runbooks.core.options import TargetOptions
from runbooks.core.rollout import FleetChange, Host, Rollout, _run_waves
from runbooks.core.targets import LocalTarget

HOSTILE = "/srv/it's a \"nas\" $(touch pwned); `touch pwned2`\nsecond line ü"


@pytest.fixture
def record(tmp_path, monkeypatch):
    monkeypatch.setenv("BP_STATE_DIR", str(tmp_path / "state"))
    path = tmp_path / "host" / "log" / "changes.jsonl"
    monkeypatch.setenv("BP_HOST_RECORD", str(path))
    monkeypatch.chdir(tmp_path)
    return path


def line(**fields):
    base = {"id": "20261201T020000Z-0a0b0c", "time": "2026-12-01T02:00:00Z",
            "runbook": "mounts.fix", "state": "done", "target": "nas",
            "by": {"user": "root", "host": "ctl"},
            "steps": [{"description": "barriers on", "argv": ["mount", "-o", "remount,barrier=1",
                                                               "/srv/nas"],
                       "undo": ["mount", "-o", "remount,barrier=0", "/srv/nas"]}]}
    return json.dumps({**base, **fields})


def test_damaged_lines_are_reported_by_number_and_the_others_stay_usable():
    text = "\n".join([
        line(),
        '{"id": "20261201T020100Z-0a0b0d", "time": "2026-12-01T02:01:00Z", "runb',  # cut off
        line(id="not-an-id"),
        json.dumps(["a list"]),
        "",
        line(id="20261201T020200Z-0a0b0e", steps=[{"description": "x", "argv": "rm -rf /"}]),
        line(id="20261201T020300Z-0a0b0f", undoes="20261201T020000Z-0a0b0c"),
    ])
    found = hostrecord.parse(text, "/var/log/breaking-point/changes.jsonl")
    assert [r["id"] for r in found.records] == ["20261201T020000Z-0a0b0c",
                                                "20261201T020300Z-0a0b0f"]
    assert [number for number, _ in found.damaged] == [2, 3, 4, 6]
    assert found.damaged[0][1].endswith('"runb')  # kept as it was
    listing = list(hostrecord.lines("nas", found, "--container nas"))
    assert "  line 2: damaged, skipped (kept in the file as it is)" in listing


def test_an_undo_marks_its_record_and_last_is_the_newest_still_in_place():
    first, grow = "20261201T020000Z-0a0b0c", "20261201T020100Z-0a0b0d"
    found = hostrecord.parse("\n".join([
        line(),
        line(id=grow, runbook="lvm.extend-pool", steps=[
            {"description": "grow vg/pool data (no undo: thin pools cannot be shrunk)",
             "argv": ["lvextend", "-L", "+1G", "vg/pool"], "undo": None}]),
        line(id="20261201T020200Z-0a0b0e", runbook=f"undo of record {first}", undoes=first),
        line(id="20261201T020300Z-0a0b0f", runbook="undo of record 20261201T020200Z-0a0b0e",
             undoes="20261201T020200Z-0a0b0e"),
        line(id="20261201T020400Z-0a0b10", state="rolled back", why="step 1 failed"),
    ]))
    undone = found.undone_by()
    assert set(undone) == {first, "20261201T020200Z-0a0b0e"}
    assert found.find(hostrecord.LAST)["id"] == "20261201T020300Z-0a0b0f"
    assert hostrecord.why_not_undoable(found.find(first), undone).startswith("already undone")
    assert hostrecord.why_not_undoable(found.find(grow), undone) == (
        "no step has an undo: grow vg/pool data (no undo: thin pools cannot be shrunk)")
    assert hostrecord.status(found.find(first), undone) == (
        "done; undone 2026-12-01T02:00:00Z (20261201T020200Z-0a0b0e)")
    assert found.find("20261201T999999Z-ffffff") is None
    assert hostrecord.parse("\n".join([line(), line(
        id="20261201T020100Z-0a0b0d", undoes=first)])).find(hostrecord.LAST) is not None


def test_a_failed_undo_does_not_mark_its_record_and_a_rolled_back_one_is_refused():
    first = "20261201T020000Z-0a0b0c"
    found = hostrecord.parse("\n".join([
        line(), line(id="20261201T020100Z-0a0b0d", undoes=first, state="failed", why="x"),
        line(id="20261201T020200Z-0a0b0e", state="rolled back", why="step 2 failed")]))
    assert hostrecord.why_not_undoable(found.find(first), found.undone_by()) == ""
    rolled = found.find("20261201T020200Z-0a0b0e")
    assert "rolled back when it failed" in hostrecord.why_not_undoable(rolled, {})


def test_hostile_text_round_trips_through_the_shell_and_runs_nothing(record, tmp_path):
    step = {"description": f"turn barriers on for {HOSTILE}",
            "argv": ["mount", "-o", "remount,barrier=1", HOSTILE],
            "undo": ["mount", "-o", "remount,barrier=0", HOSTILE]}
    fields = asyncio.run(hostrecord.write(LocalTarget(), "mounts.fix", [step], "done",
                                          rollout=7))
    found = asyncio.run(hostrecord.read(LocalTarget()))
    (kept,) = found.records
    assert fields == {"host_record": kept["id"]}
    assert kept["steps"] == [step] and kept["rollout"] == 7 and not found.damaged
    assert kept["by"]["user"] and kept["by"]["host"]
    assert not list(tmp_path.glob("pwned*"))
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    assert stat.S_IMODE(record.parent.stat().st_mode) == 0o700


def test_a_record_larger_than_one_argument_goes_over_whole(record):
    steps = [{"description": f"step {n} " + "x" * 1000, "argv": ["true", str(n)],
              "undo": ["true"]} for n in range(100)]  # about 100 KB: seven pieces
    target = LocalTarget()
    asyncio.run(hostrecord.write(target, "demo", steps[:1], "done"))
    asyncio.run(hostrecord.write(target, "demo", steps, "done"))
    found = asyncio.run(hostrecord.read(target))
    assert [len(r["steps"]) for r in found.records] == [1, 100] and not found.damaged
    assert found.records[1]["steps"] == steps
    assert [p.name for p in record.parent.iterdir()] == ["changes.jsonl"]  # no part left


def test_no_record_yet_is_empty_and_an_unreadable_one_is_an_error(record):
    assert asyncio.run(hostrecord.read(LocalTarget())).records == []
    record.mkdir(parents=True)  # a folder where the file should be
    with pytest.raises(RunbookError, match=r"^localhost: cannot read .*changes.jsonl: "):
        asyncio.run(hostrecord.read(LocalTarget()))


def plan_of(tmp_path, fail=False):
    plan = changes.Plan("demo", LocalTarget())
    plan.add(changes.Step("create a", ["touch", str(tmp_path / "a")],
                          ["rm", "-f", str(tmp_path / "a")]))
    plan.add(changes.Step("create b", ["false" if fail else "true"], None,
                          no_undo="b stays"))
    return plan


def test_apply_plan_records_the_run_on_the_host_and_the_journal_points_to_it(record, tmp_path):
    assert asyncio.run(changes.apply_plan(plan_of(tmp_path), True, io.StringIO())) == 1
    with pytest.raises(RunbookError):
        asyncio.run(changes.apply_plan(plan_of(tmp_path, fail=True), True, io.StringIO()))
    done, failed = asyncio.run(hostrecord.read(LocalTarget())).records
    assert (done["state"], failed["state"]) == ("done", "failed")
    assert failed["why"] == "stopped at step 2: create b: exit status 1"
    assert done["steps"][1] == {"description": "create b", "argv": ["true"], "undo": None,
                                "no_undo": "b stays"}
    assert [s["description"] for s in failed["steps"]] == ["create a"]
    journal = changes.read_journal()
    assert [e["host_record"] for e in journal] == [done["id"], failed["id"]]


def test_a_host_record_that_cannot_be_written_is_one_warning_and_the_journal_says_so(
        record, tmp_path, capsys):
    record.parent.parent.mkdir()
    record.parent.write_text("a file where the folder should be")
    out = io.StringIO()
    assert asyncio.run(changes.apply_plan(plan_of(tmp_path), True, out)) == 1
    assert (tmp_path / "a").exists()
    assert "recorded as change 1" in out.getvalue()
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(
        "warning: localhost: changed, but not recorded on the host (")
    (entry,) = changes.read_journal()
    assert "host_record" not in entry and "File exists" in entry["host_record_missing"]


def test_a_failed_rollout_host_is_recorded_as_rolled_back(record, tmp_path):
    hosts = []
    for name, fail in (("h1", False), ("h2", True)):
        target = LocalTarget()
        target.name = name
        plan = changes.Plan("demo", target)
        path = str(tmp_path / name)
        plan.add(changes.Step(f"create {name}", ["touch", path], ["rm", "-f", path]))
        plan.add(changes.Step("check", ["false" if fail else "true"], None))
        hosts.append(Host(target, plan, "change"))
    rollout = Rollout(FleetChange("demo", None, settled=False), hosts,
                      TargetOptions("demo", yes=True, canary=0), io.StringIO())
    rollout.rollout_id = changes.record_rollout("demo", ["h1", "h2"], {})
    asyncio.run(_run_waves(rollout, hosts, stop=type("S", (), {"asked": False})()))
    by_host = {r["target"]: r for r in asyncio.run(hostrecord.read(LocalTarget())).records}
    assert by_host["h1"]["state"] == "done" and by_host["h1"]["rollout"] == 1
    assert by_host["h2"]["state"] == "rolled back"
    assert by_host["h2"]["why"].startswith("stopped at step 2: check: exit status 1; left as")
    assert not (tmp_path / "h2").exists()


def test_the_journal_refuses_to_undo_what_the_host_says_was_undone_elsewhere(record, tmp_path):
    import os

    from tests.helpers import run_task

    asyncio.run(changes.apply_plan(plan_of(tmp_path), True, io.StringIO()))
    (entry,) = changes.read_journal()
    # Another machine undid it: its undo's record on the host names this one.
    asyncio.run(hostrecord.write(LocalTarget(), "undo of record", [], "done",
                                 undoes=entry["host_record"]))
    proc = run_task("changes.undo", "1", "--apply", env=dict(os.environ))
    assert proc.returncode == 3 and proc.stdout == ""
    assert proc.stderr.startswith("error: change 1 was undone on localhost at ")
    assert proc.stderr.count("\n") == 1 and (tmp_path / "a").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["20261201T020000Z-0a0b0c"], "a host record's id needs --host, --container or"),
    (["1", "--container", "nas"], "--host, --container and --hosts undo from a host's own"),
    (["1; reboot", "--container", "nas"], "with a target option, the id is a host record's"),
])
def test_record_ids_and_change_ids_do_not_mix(record, args, message):
    import os

    from tests.helpers import run_task

    proc = run_task("changes.undo", *args, env=dict(os.environ))
    assert proc.returncode == 3 and message in proc.stderr and proc.stderr.count("\n") == 1
