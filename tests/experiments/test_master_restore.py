"""master-restore: the result computation on a real capture, and the journals' shape.

The capture (tests/data/master-restore/) is one kill and restore on the moosefs4 lab
with the metalogger cut off 3 s before the kill, so it holds both survivors and losses.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runbooks.experiments import DATA_DIR, master, registry
from runbooks.experiments.journal import problems
from runbooks.site.generate import _env, experiments_by_lab
from tests.helpers import DATA

CAPTURE = DATA / "master-restore"
KILL_AT, BEGAN = 1796068170.0839214, 1796068172.1417367  # from CAPTURE/README.md


@pytest.fixture(scope="module")
def log() -> str:
    return (CAPTURE / "moosefs4-cut-off-log.txt").read_text()


@pytest.fixture(scope="module")
def state_text() -> str:
    return (CAPTURE / "moosefs4-cut-off-state.txt").read_text()


def _acked_before_kill(log: str) -> list[tuple[str, int]]:
    """The same count as judge's, done another way: by the text of each line."""
    return [(op, int(i)) for t, op, i in (line.split() for line in log.splitlines())
            if float(t) <= KILL_AT]


def test_parse_real_capture(log: str, state_text: str) -> None:
    ops = master.parse_ops(log)
    assert len(ops) == len(log.splitlines())
    assert {op for _, op, _ in ops} == {"create", "rename", "append", "journal"}
    state = master.parse_state(state_text)
    assert len(state) == len(state_text.splitlines())
    assert state["f1"] == (6, "c1,a1")
    assert state["j"][1].startswith("j1,j2,")


def test_judge_real_capture(log: str, state_text: str) -> None:
    result = master.judge(master.parse_ops(log), master.parse_state(state_text), KILL_AT, BEGAN)
    before = _acked_before_kill(log)
    files_found = {line.split()[0] for line in state_text.splitlines()}
    created = [i for op, i in before if op == "create"]
    assert result["changes_acknowledged"] == len(before)
    assert result["files_acknowledged"] == len(created)
    # Every file acknowledged before the kill and still there survived; the rest were lost.
    kept = [i for i in created if f"f{i}" in files_found or f"n{i}" in files_found]
    assert result["files_survived"] == len(kept)
    assert result["files_lost"] == len(created) - len(kept) > 0
    assert result["changes_unreadable"] == 0
    assert result["changes_survived"] + result["changes_lost"] == result["changes_acknowledged"]
    # The metalogger was cut off 3 s before the kill: what it lost is at least that old.
    assert result["lost_acknowledged_s_before_kill"] >= 3
    assert [w["seconds"] for w in result["last_windows"]] == list(master.WINDOWS)
    assert result["last_windows"][0]["lost"] == result["last_windows"][0]["acknowledged"]
    assert result["acknowledged_while_down"] == 0
    after = sum(1 for line in log.splitlines() if float(line.split()[0]) > BEGAN)
    assert result["acknowledged_after_restore"] == after > 0
    assert result["files_unreadable"] == result["files_read_wrong_count"] == 0
    # j lost the lines written while the metalogger was cut off, then grew after the restore.
    journal = result["journal_file"]
    assert journal["readable_as_written"] and len(journal["gaps"]) == 1
    first_lost = min(i for op, i in before if op == "journal" and f"f{i}" not in files_found)
    assert journal["gaps"][0][0] == first_lost


def test_nothing_lost_when_every_acknowledged_file_is_there(log: str) -> None:
    ops = master.parse_ops(log)
    last = max(i for _, _, i in ops)
    state = {f"f{i}": (len(f"c{i}\na{i}\n"), f"c{i},a{i}") for i in range(1, last + 1)}
    state["j"] = (0, ",".join(f"j{i}" for i in range(1, last + 1)))
    result = master.judge(ops, state, KILL_AT, BEGAN)
    assert result["changes_lost"] == result["files_lost"] == 0
    assert result["changes_survived"] == len(_acked_before_kill(log))
    assert result["lost_acknowledged_s_before_kill"] == 0


def test_survived_per_operation() -> None:
    state = {"n1": (3, "c1"), "f2": (3, "c2"), "f3": (6, "c3,a3"), "j": (6, "j1,j3"),
             "f4": (5, "a4"), "f5": (6, None)}
    assert master.survived("create", 1, state) and not master.survived("rename", 1, state)
    assert master.survived("rename", 2, state) and not master.survived("append", 2, state)
    assert master.survived("append", 3, state)
    # Seen on MooseFS 3.0: the append in flight at the kill, replayed, left "a4" alone in
    # the file: the acknowledged "c4" is gone, the name is not.
    assert master.survived("create", 4, state) is False
    assert master.survived("rename", 4, state) is True
    assert master.survived("create", 5, state) is None
    assert master.survived("append", 5, state) is None
    assert not master.survived("create", 6, state)
    assert master.survived("journal", 3, state) and not master.survived("journal", 2, state)
    with pytest.raises(ValueError, match="unknown operation"):
        master.survived("delete", 1, state)


def test_files_read_wrong_and_unreadable(log: str, state_text: str) -> None:
    state = master.parse_state(state_text)
    state["f1"] = (6, "c1,a9")  # the size of "c1\na1\n", other bytes
    state["f2"] = (6, None)  # master-state.sh's "?": the read timed out
    state["n999"] = (0, "")  # created, never written: the operation in flight, replayed
    result = master.judge(master.parse_ops(log), state, KILL_AT, BEGAN)
    assert result["files_read_wrong"] == ["f1"]
    assert result["files_read_wrong_detail"] == ["f1 6 c1,a9"]
    assert result["files_unreadable"] == 1


def test_journal_not_as_written_counts_as_lost(log: str, state_text: str) -> None:
    state = master.parse_state(state_text)
    state["j"] = (state["j"][0], "\x00\x00")
    result = master.judge(master.parse_ops(log), state, KILL_AT, BEGAN)
    assert not result["journal_file"]["readable_as_written"]
    assert "j" in result["files_read_wrong"]
    # Neither survived nor lost: nothing can tell. The other changes are judged as before.
    assert all(master.survived("journal", i, state) is None for i in range(1, 5))
    journal_ops = sum(1 for op, _ in _acked_before_kill(log) if op == "journal")
    assert result["changes_unreadable"] == journal_ops
    assert not any(change.startswith("journal") for change in result["lost_changes"])
    assert result["changes_survived"] + result["changes_lost"] + journal_ops == \
        result["changes_acknowledged"]


def test_unreadable_journal_is_not_lost(log: str, state_text: str) -> None:
    state = master.parse_state(state_text)
    state["j"] = (state["j"][0], None)
    assert master.survived("journal", 1, state) is None
    view = master.judge(master.parse_ops(log), state, KILL_AT, BEGAN)["journal_file"]
    assert view == {"found": True, "size": state["j"][0], "readable": False,
                    "readable_as_written": False}
    del state["j"]
    assert master.survived("journal", 1, state) is False


def test_parse_skips_foreign_lines() -> None:
    garbled = "1796069398.1420\x01\x00\x00\x00\x00\x004Y44626 create 7\n"  # seen in a run
    assert master.parse_ops("garbage\n1.5 create 3\n" + garbled + "2.0 fail-rename 3\n") == [
        (1.5, "create", 3), (2.0, "fail-rename", 3)]
    assert master.parse_state("no size here\nf1 x c1\nf2 3 ?\n") == {"f2": (3, None)}


def test_registered_on_three_labs() -> None:
    experiment = registry()["master-restore"]
    assert list(experiment.labs()) == ["moosefs", "moosefs4", "lizardfs"]
    assert experiment.journal_name() == "master-restore"
    assert experiment.journal_name("lizardfs") == "master-restore.lizardfs"
    assert set(master.VERSIONS) == set(experiment.labs())


JOURNALS = sorted(DATA_DIR.glob("master-restore*.json"))
ROUND_KEYS = {"changes_acknowledged", "changes_survived", "changes_lost", "files_acknowledged",
              "files_survived", "files_lost", "last_windows", "restore_s",
              "chunkservers_back_s", "client_writes_again_s", "chunks_missing_after",
              "metalogger_behind_master_changes", "restored_with", "changes_unreadable",
              "journal_file", "fileinfo_j", "files_unreadable_names",
              "metalogger_isolated_s_before_kill"}


@pytest.mark.parametrize("path", JOURNALS, ids=[p.name for p in JOURNALS])
def test_journal_shape(path: Path) -> None:
    doc = json.loads(path.read_text())
    assert problems(doc) == []
    assert doc["experiment"] == "master-restore"
    lab = path.stem.partition(".")[2] or "moosefs"
    assert master.VERSIONS[lab].package in doc["versions"]
    if doc["status"] != "completed":
        return
    rounds = doc["results"]["rounds"]
    assert set(rounds) == {r.name for r in master.ROUNDS}
    for result in rounds.values():
        assert set(result) >= ROUND_KEYS
        assert result["changes_survived"] + result["changes_lost"] + \
            result["changes_unreadable"] == result["changes_acknowledged"] > 0
        assert result["files_survived"] + result["files_lost"] + \
            result["files_cannot_tell"] == result["files_acknowledged"]
    cut = rounds["metalogger-cut-off"]
    assert cut["metalogger_isolated_s_before_kill"] >= cut["metalogger_cut_off_s"] > 0
    assert rounds["connected"]["metalogger_isolated_s_before_kill"] is None


def test_journals_exist_for_every_lab() -> None:
    names = {p.name for p in JOURNALS}
    assert names >= {"master-restore.json", "master-restore.moosefs4.json",
                     "master-restore.lizardfs.json"}


def _render(by_lab: dict) -> str:
    return _env().get_template("tolerances-master-restore.md.j2").render(by_lab=by_lab, exp={})


def test_sheet_section_has_a_column_per_version() -> None:
    by_lab = experiments_by_lab(DATA_DIR)
    text = _render(by_lab)
    assert text.startswith("## The master lost in the middle of writes {#master-restore}")
    header = next(line for line in text.splitlines() if line.startswith("| |"))
    for lab, doc in by_lab["master-restore"].items():
        if doc["results"]:
            version = doc["versions"][master.VERSIONS[lab].package]
            assert version in header
    assert "Not measured yet" not in text


def test_sheet_section_without_data() -> None:
    assert "Not measured yet" in _render({})
