"""The experiments' journal and runner, without a lab: fake experiments of plain functions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runbooks.experiments import DATA_DIR, runner
from runbooks.experiments.journal import problems
from runbooks.experiments.runner import Experiment, ExperimentError, Probe, Rollback, Run, System


def _fake(calls: list[str], steady: list[int], method_fails: bool = False) -> Experiment:
    """An experiment whose probe reads ``steady`` in turn and whose method may raise."""
    state = iter(steady)

    def method(run: Run) -> dict[str, int]:
        run.action("inject", calls.append, "inject")
        with run.step("observe", "probe") as step:
            if method_fails:
                raise RuntimeError("the fault broke the probe")
            step.output = {"seen": 3}
        return {"seen": 3}

    system = System("fake: nothing", up=lambda prefix: {"seconds": 0.1, "prefix": prefix},
                    down=lambda run: calls.append("down"), versions=lambda run: {"fake": "1"})
    return Experiment("fake", "A fake experiment", system,
                      (Probe("answers", lambda run: next(state), 1),),
                      method, (Rollback("heal", lambda run: calls.append("heal") or ["healed"]),))


def test_a_steady_run_completes_and_does_not_deviate(tmp_path: Path) -> None:
    calls: list[str] = []
    path = runner.run(_fake(calls, [1, 1]), tmp_path)
    doc = json.loads(path.read_text())
    assert problems(doc) == []
    assert (doc["status"], doc["deviated"], doc["results"]) == ("completed", False, {"seen": 3})
    assert calls == ["inject", "heal", "down"]
    before, after = (doc["steady_state_hypothesis"][k] for k in ("before", "after"))
    assert [(p["name"], p["output"], p["tolerance"], p["status"]) for p in before] == [
        ("lab up", {"seconds": 0.1}, None, "succeeded"), ("answers", 1, 1, "succeeded")]
    assert [(p["name"], p["output"], p["status"]) for p in after] == [("answers", 1, "succeeded")]
    assert [(a["name"], a["kind"], a["status"]) for a in doc["method"]] == [
        ("inject", "action", "succeeded"), ("observe", "probe", "succeeded")]
    assert all(isinstance(a["duration"], float) and a["start"] <= a["end"]
               for a in doc["method"])
    assert [(a["name"], a["output"]) for a in doc["rollbacks"]] == [("heal", ["healed"])]
    assert doc["versions"] == {"fake": "1"} and doc["lab"] == "fake: nothing"
    assert list(tmp_path.iterdir()) == [path]  # written atomically: no temporary file left


def test_a_failing_step_fails_the_run_and_the_rollbacks_still_run(tmp_path: Path) -> None:
    calls: list[str] = []
    with pytest.raises(ExperimentError, match="experiment fake failed"):
        runner.run(_fake(calls, [1, 1], method_fails=True), tmp_path)
    doc = json.loads((tmp_path / "fake.json").read_text())
    assert problems(doc) == []
    assert (doc["status"], doc["deviated"], doc["results"]) == ("failed", False, {})
    assert doc["method"][-1]["status"] == "failed"
    assert doc["method"][-1]["output"] == {"error": "the fault broke the probe"}
    assert doc["steady_state_hypothesis"]["after"] == []
    assert calls == ["inject", "heal", "down"]
    assert [a["status"] for a in doc["rollbacks"]] == ["succeeded"]


def test_a_steady_state_lost_after_the_method_is_a_deviation(tmp_path: Path) -> None:
    calls: list[str] = []
    doc = json.loads(runner.run(_fake(calls, [1, 0]), tmp_path).read_text())
    assert (doc["status"], doc["deviated"]) == ("completed", True)
    (after,) = doc["steady_state_hypothesis"]["after"]
    assert (after["output"], after["tolerance"], after["status"]) == (0, 1, "failed")
    assert calls == ["inject", "heal", "down"]


def test_no_steady_state_before_means_no_method(tmp_path: Path) -> None:
    calls: list[str] = []
    with pytest.raises(ExperimentError):
        runner.run(_fake(calls, [0]), tmp_path)
    doc = json.loads((tmp_path / "fake.json").read_text())
    assert (doc["status"], doc["method"], calls) == ("failed", [], ["heal", "down"])


def test_a_lab_that_does_not_come_up_aborts_with_a_journal(tmp_path: Path) -> None:
    def broken(prefix: str) -> dict[str, float]:
        raise OSError("no engine")

    calls: list[str] = []
    fake = _fake(calls, [1, 1])
    system = System("fake", up=broken, down=fake.system.down, versions=fake.system.versions)
    with pytest.raises(OSError, match="no engine"):
        runner.run(Experiment("fake", "A fake", system, fake.steady_state, fake.method,
                              fake.rollbacks), tmp_path)
    doc = json.loads((tmp_path / "fake.json").read_text())
    assert problems(doc) == [] and doc["status"] == "aborted"
    assert doc["steady_state_hypothesis"]["before"][0]["output"] == {"error": "no engine"}


@pytest.mark.parametrize("path", sorted(DATA_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_every_data_file_is_a_journal(path: Path) -> None:
    """NAME.json is the run on the experiment's default lab, NAME.LAB.json one on LAB."""
    from runbooks.experiments import EXPERIMENTS

    doc = json.loads(path.read_text())
    assert problems(doc) == []
    name, _, lab = path.stem.partition(".")
    assert doc["experiment"] == name and doc["results"]
    if lab:  # a variant's journal: a lab the experiment declares, its version recorded
        experiment = EXPERIMENTS[name]
        assert lab in experiment.labs() and lab != experiment.system.lab
        assert experiment.journal_name(lab) == path.stem
        assert doc["lab"] == experiment.labs()[lab].description
        assert set(doc["versions"]) - {"kernel", "docker", "python"}  # the system's own


def test_the_registry_declares_every_experiment_in_full() -> None:
    from runbooks.experiments import EXPERIMENTS

    assert sorted(EXPERIMENTS) == sorted({p.stem.partition(".")[0]
                                          for p in DATA_DIR.glob("*.json")})
    for name, experiment in EXPERIMENTS.items():
        assert experiment.name == name and experiment.title and experiment.steady_state
        assert callable(experiment.method) and experiment.system.description
