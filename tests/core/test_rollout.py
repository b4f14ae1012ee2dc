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
    # The local "hosts" share this machine's record of changes: keep it in the test's folder.
    monkeypatch.setenv("BP_HOST_RECORD", str(tmp_path / "host" / "changes.jsonl"))
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


def run_waves(state: Path, count: int, fail: str = "", asked: bool = False,
              **settings: int) -> tuple[list[Host], Rollout, Path]:
    """A rollout of ``touch_plan`` on hosts h1..hCOUNT (``fail`` fails its second step)
    through _run_waves; ``asked``: Ctrl-C came before the first wave."""
    folder = state / "hosts"
    folder.mkdir()
    targets = [local(f"h{i}") for i in range(1, count + 1)]
    hosts = [Host(t, touch_plan(t, folder, fail=t.name == fail), "change") for t in targets]
    opts = TargetOptions("test.touch", yes=True, **settings)
    rollout = Rollout(FleetChange("test.touch", None, settled=False), hosts, opts,
                      io.StringIO())
    rollout.rollout_id = record_rollout("test.touch", [t.name for t in targets], {})
    asyncio.run(_run_waves(rollout, hosts, stop=type("S", (), {"asked": asked})()))
    return hosts, rollout, folder


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
    hosts, rollout, folder = run_waves(state, 7, fail="h3", canary=1, parallel=2,
                                       max_failures=0)
    # canary h1, then the wave h2+h3: h3 fails, so h4..h7 are never started
    assert [h.state for h in hosts] == ["done", "done", "failed"] + ["change"] * 4
    assert sorted(p.name for p in folder.iterdir()) == ["h1-1", "h1-2", "h2-1", "h2-2"]
    assert "left as it was (its 1 completed steps were undone)" in hosts[2].why
    assert rollout.stopped == "1 failed, more than --max-failures 0"
    changes = sorted((e["target"], e.get("rollout"), bool(e["undone"]))
                     for e in read_journal()[1:])
    assert changes == [("h1", 1, False), ("h2", 1, False), ("h3", 1, True)]


def test_a_budget_of_one_lets_one_failure_through(state):
    hosts, rollout, _ = run_waves(state, 4, fail="h2", canary=1, parallel=1, max_failures=1)
    assert [h.state for h in hosts] == ["done", "failed", "done", "done"]
    assert not rollout.stopped


def test_a_failed_canary_stops_everything(state):
    hosts, rollout, folder = run_waves(state, 3, fail="h1", canary=1, parallel=4,
                                       max_failures=5)
    assert [h.state for h in hosts] == ["failed", "change", "change"]
    assert rollout.stopped == "the canary failed" and list(folder.iterdir()) == []


def test_ctrl_c_stops_before_the_next_wave_and_says_so(state):
    # Ctrl-C came while the canary ran: it finishes, no wave starts
    hosts, rollout, folder = run_waves(state, 4, asked=True, canary=1, parallel=2,
                                       max_failures=0)
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


def fleet_json(capsys, plan, names: list[str]) -> tuple[int, dict]:
    """``--format json --apply --yes`` through the rollout engine: exit status and data."""
    import json

    from runbooks.core.rollout import _fleet

    opts = TargetOptions("test.touch", format="json", yes=True)
    status = asyncio.run(_fleet(FleetChange("test.touch", plan), [local(n) for n in names],
                                opts, apply=True))
    return status, json.loads(capsys.readouterr().out)


def test_json_apply_that_never_starts_still_prints_its_data(state, capsys):
    async def plan(target):
        if target.name == "h2":
            raise RuntimeError("cannot read the host")
        result = Plan("test.touch", target)
        result.add(Step("create", ["touch", str(state / target.name)], ["rm", "-f", "x"]))
        return result

    status, data = fleet_json(capsys, plan, ["h1", "h2"])
    assert status == 1 and not (state / "h1").exists()
    assert data["rollout"]["id"] is None
    assert data["rollout"]["stopped"].startswith("not started: 1 hosts could not be planned")
    assert {n: h["state"] for n, h in data["rollout"]["hosts"].items()} == {
        "h1": "untouched", "h2": "error"}


def test_json_apply_with_nothing_to_change_prints_its_data(state, capsys):
    async def plan(target):
        return Plan("test.touch", target, idle="already done")

    status, data = fleet_json(capsys, plan, ["h1", "h2"])
    assert status == 0 and data["rollout"]["id"] is None
    assert {n: h["state"] for n, h in data["rollout"]["hosts"].items()} == {
        "h1": "idle", "h2": "idle"}
