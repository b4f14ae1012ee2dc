"""The rollout engine's own logic (runbooks.core.rollout): grouping, the failure budget,
the rollback of a failed host and the journal, on local targets whose steps really run
in a folder of the test. The fleet checks of issue 16 run in the fleet lab
(tests/lab/test_fleet.py)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from runbooks.core.changes import Plan, Step, read_journal, record_rollout
from runbooks.core.options import TargetOptions
from runbooks.core.rollout import FleetChange, Host, Rollout, _run_waves, group_hosts, summary
from runbooks.core.targets import LocalTarget


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("BP_STATE_DIR", str(tmp_path / "state"))
    return tmp_path


def local(name: str) -> LocalTarget:
    target = LocalTarget()
    target.name = name
    return target


def touch_plan(target, folder: Path, fail: bool = False) -> Plan:
    """Two steps that create files of this host; the second fails when ``fail``."""
    plan = Plan("test.touch", target)
    for n in (1, 2):
        path = str(folder / f"{target.name}-{n}")
        argv = ["test", "-d", path] if fail and n == 2 else ["touch", path]
        plan.add(Step(f"create {target.name}-{n}", argv, ["rm", "-f", path]))
    return plan


def test_hosts_with_the_same_plan_are_one_group_and_the_summary_counts_them(tmp_path):
    change = FleetChange("test.touch", None, unit=lambda p: f"{len(p.steps)} files")
    hosts = []
    for name in ("a", "b"):
        plan = Plan("test.touch", local(name))
        plan.add(Step("same", ["true"], ["true"]))
        hosts.append(Host(local(name), plan, "change"))
    hosts.append(Host(local("c"), Plan("test.touch", local("c"), idle="already done"), "idle"))
    hosts.append(Host(local("d"), None, "unreachable", why="no SSH answer"))
    groups = group_hosts(change, hosts)
    assert [(g.label, [h.name for h in g.hosts]) for g in groups] == [
        ("would change (1 files each)", ["a", "b"]), ("already done", ["c"]),
        ("unreachable", ["d"])]
    assert summary(change, hosts) == ("test.touch on 4 hosts: 2 would change (1 files each), "
                                      "1 already done, 1 unreachable")


def test_a_failure_after_the_canary_stops_the_waves_and_the_failed_host_is_as_before(state):
    folder = state / "hosts"
    folder.mkdir()
    names = [f"h{i}" for i in range(1, 8)]
    targets = [local(n) for n in names]
    hosts = [Host(t, touch_plan(t, folder, fail=t.name == "h3"), "change") for t in targets]
    opts = TargetOptions("test.touch", canary=1, parallel=2, max_failures=0, yes=True)
    change = FleetChange("test.touch", None, settled=False)
    rollout = Rollout(change, hosts, opts, io.StringIO())
    rollout.rollout_id = record_rollout("test.touch", names, {})
    asyncio.run(_run_waves(rollout, hosts, stop=type("S", (), {"asked": False})()))
    # canary h1, then the wave h2+h3: h3 fails, so h4..h7 are never started
    assert [h.state for h in hosts] == ["done", "done", "failed"] + ["change"] * 4
    assert sorted(p.name for p in folder.iterdir()) == ["h1-1", "h1-2", "h2-1", "h2-2"]
    assert "left as it was (its 1 completed steps were undone)" in hosts[2].why
    assert rollout.stopped == "1 failed, more than --max-failures 0"
    changes = sorted((e["target"], e.get("rollout"), bool(e["undone"]))
                     for e in read_journal()[1:])
    assert changes == [("h1", 1, False), ("h2", 1, False), ("h3", 1, True)]


def test_a_budget_of_one_lets_one_failure_through(state):
    folder = state / "hosts"
    folder.mkdir()
    targets = [local(f"h{i}") for i in range(1, 5)]
    hosts = [Host(t, touch_plan(t, folder, fail=t.name == "h2"), "change") for t in targets]
    opts = TargetOptions("test.touch", canary=1, parallel=1, max_failures=1, yes=True)
    rollout = Rollout(FleetChange("test.touch", None, settled=False), hosts, opts,
                      io.StringIO())
    rollout.rollout_id = record_rollout("test.touch", [t.name for t in targets], {})
    asyncio.run(_run_waves(rollout, hosts, stop=type("S", (), {"asked": False})()))
    assert [h.state for h in hosts] == ["done", "failed", "done", "done"]
    assert not rollout.stopped


def test_a_failed_canary_stops_everything(state):
    folder = state / "hosts"
    folder.mkdir()
    targets = [local(f"h{i}") for i in range(1, 4)]
    hosts = [Host(t, touch_plan(t, folder, fail=t.name == "h1"), "change") for t in targets]
    opts = TargetOptions("test.touch", canary=1, parallel=4, max_failures=5, yes=True)
    rollout = Rollout(FleetChange("test.touch", None, settled=False), hosts, opts,
                      io.StringIO())
    rollout.rollout_id = record_rollout("test.touch", [t.name for t in targets], {})
    asyncio.run(_run_waves(rollout, hosts, stop=type("S", (), {"asked": False})()))
    assert [h.state for h in hosts] == ["failed", "change", "change"]
    assert rollout.stopped == "the canary failed" and list(folder.iterdir()) == []


def test_ctrl_c_stops_before_the_next_wave_and_says_so(state):
    folder = state / "hosts"
    folder.mkdir()
    targets = [local(f"h{i}") for i in range(1, 5)]
    hosts = [Host(t, touch_plan(t, folder), "change") for t in targets]
    opts = TargetOptions("test.touch", canary=1, parallel=2, max_failures=0, yes=True)
    rollout = Rollout(FleetChange("test.touch", None, settled=False), hosts, opts,
                      io.StringIO())
    rollout.rollout_id = record_rollout("test.touch", [t.name for t in targets], {})
    # Ctrl-C came while the canary ran: it finishes, no wave starts
    asyncio.run(_run_waves(rollout, hosts, stop=type("S", (), {"asked": True})()))
    assert [h.state for h in hosts] == ["done", "change", "change", "change"]
    assert rollout.stopped == "interrupted (Ctrl-C)"
    assert sorted(p.name for p in folder.iterdir()) == ["h1-1", "h1-2"]


def test_undo_of_a_rollout_with_limit_undoes_those_hosts_only(state, monkeypatch):
    from runbooks.core.changes import _record
    from runbooks.core.runner import TaskExit
    from runbooks.journal_tasks import undo

    folder = state / "hosts"
    folder.mkdir()
    rollout_id = record_rollout("test.touch", ["h1", "h2"], {})
    for name in ("h1", "h2"):
        path = folder / name
        path.touch()
        _record("test.touch", local(name), [{"description": f"create {name}",
                                            "argv": ["touch", str(path)],
                                            "undo": ["rm", "-f", str(path)]}],
                {"rollout": rollout_id})
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(TaskExit) as dry:
        undo(None, str(rollout_id), limit="h2")
    assert dry.value.code == 0 and sorted(p.name for p in folder.iterdir()) == ["h1", "h2"]
    with pytest.raises(TaskExit) as done:
        undo(None, str(rollout_id), apply=True, limit="h2", yes=True)
    assert done.value.code == 0
    assert [p.name for p in folder.iterdir()] == ["h1"]
    journal = {e["id"]: e for e in read_journal()}
    assert not journal[2]["undone"] and journal[3]["undone"]  # h1's change, h2's change
    assert not journal[rollout_id]["undone"]  # h1 is still changed
