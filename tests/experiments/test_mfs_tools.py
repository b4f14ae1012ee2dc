"""The per-version adapters of the MooseFS experiments, fed with real captures (tests/data)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from runbooks.core.scripts import load
from runbooks.experiments import labs
from runbooks.experiments.moosefs import EXPERIMENTS, copies_histogram
from tests.helpers import REPO

DATA = REPO / "tests" / "data"


def _text(name: str) -> str:
    return (DATA / name).read_text()


def test_every_moosefs_experiment_runs_on_the_three_versions() -> None:
    for experiment in EXPERIMENTS.values():
        assert list(experiment.labs()) == ["moosefs", "moosefs4", "lizardfs"]
        for lab in experiment.labs():
            assert lab in labs.MFS_TOOLS
    assert EXPERIMENTS["servers-lost"].journal_name("lizardfs") == "servers-lost.lizardfs"


def test_each_version_names_its_own_containers() -> None:
    names = {lab: t.container("p", "cs1") for lab, t in labs.MFS_TOOLS.items()}
    assert names == {"moosefs": "p-mfs-cs1", "moosefs4": "p-mfs4-cs1", "lizardfs": "p-lfs-cs1"}


def test_moosefs3_classes_and_wrong_version_copies() -> None:
    tools = labs.MFS_TOOLS["moosefs"]
    classes = tools.parse_classes(_text("moosefs/degraded-mfscli.txt"))
    assert (classes["missing"], classes["endangered"], classes["undergoal"]) == (4, 4, 0)
    info = tools.parse_fileinfo(_text("moosefs/wrongversion-mfsfileinfo.txt"), ["/mnt/mfs/c/wv"],
                                "")
    (chunk,) = info["/mnt/mfs/c/wv"]
    assert [c.status for c in chunk.copies] == ["WRONG VERSION"]
    check = tools.parse_checkfile(_text("moosefs/wrongversion-mfscheckfile.txt"),
                                  ["/mnt/mfs/c/wv"], "")
    assert copies_histogram(check) == {"0": 1}


def test_moosefs4_counts_lost_chunks_as_zero_copies_and_reads_the_json_classes() -> None:
    tools = labs.MFS_TOOLS["moosefs4"]
    paths = json.loads(_text("moosefs4/paths.json"))
    checks = tools.parse_checkfile(_text("moosefs4/degraded-mfscheckfile.txt"), paths, "")
    histogram = copies_histogram(checks)
    # 3 of 4 servers stopped: every chunk has 0 or 1 full copy left
    assert set(histogram) == {"0", "1"} and histogram["0"] > 0
    assert sum(histogram.values()) == sum(sum(c.levels.values()) + c.lost
                                          for c in checks.values())
    classes = tools.parse_classes(_text("moosefs4/degraded-mfscli.json"))
    assert (classes["missing"], classes["endangered"], classes["undergoal"]) == (8, 9, 0)
    assert tools.parse_classes(_text("moosefs4/healed-mfscli.json"))["missing"] == 0
    info = tools.parse_fileinfo(_text("moosefs4/healthy-mfsfileinfo.txt"), paths, "")
    assert all(copy.status == "VALID" for chunks in info.values() for chunk in chunks
               for copy in chunk.copies)


def test_lizardfs_checkfile_fileinfo_and_health() -> None:
    tools = labs.MFS_TOOLS["lizardfs"]
    checks = tools.parse_checkfile(_text("lizardfs/captured-checkfile.txt"),
                                   [f"f{i}" for i in range(1, 7)], "")
    assert copies_histogram(checks) == {"0": 1, "1": 5}
    info = tools.parse_fileinfo(_text("lizardfs/captured-fileinfo-big-file.txt"), ["big file"],
                                "")
    chunks = info["big file"]
    assert [(c.chunk_id, c.version, len(c.copies)) for c in chunks] == [(21, 1, 1), (22, 1, 0)]
    classes = tools.parse_classes(_text("lizardfs/captured-chunks-health.txt"))
    assert classes == {"missing": 5, "endangered": 16, "undergoal": 0}
    assert not tools.lists_stale_copies and tools.repair_correct_only


def test_lizardfs_classes_from_all_three_reports() -> None:
    # cs4 killed, goal 2: REP counts the endangered chunks as needing one copy, so they
    # are not counted again as undergoal
    text = (Path(__file__).parent / "data" / "lizardfs-chunks-health-cs4-killed.txt").read_text()
    assert {line.split()[0] for line in text.splitlines() if line} == {"AVA", "REP", "DEL"}
    classes = labs.lizardfs_classes(text)
    health = [line.split() for line in text.splitlines() if line.startswith("AVA 2 ")]
    assert classes == {"missing": 0, "endangered": int(health[0][3]), "undergoal": 0}
    assert classes["endangered"] > 0


def test_lizardfs_undergoal_counts_chunks_with_more_than_one_copy_to_make() -> None:
    # the capture's lines with one more REP row, shaped like it: goal 3, 2 chunks need
    # one copy and 1 needs two (that one is also the endangered one)
    text = _text("lizardfs/captured-chunks-health.txt").replace("AVA 3 0 16 5", "AVA 3 4 1 0")
    text += "REP 3 4 2 1 0 0 0 0 0 0 0 0\n"
    assert labs.lizardfs_classes(text) == {"missing": 0, "endangered": 1, "undergoal": 2}
    with pytest.raises(Exception, match="chunks-health line"):
        labs.lizardfs_classes("AVA three\n")


@pytest.mark.parametrize(("text", "version"), [
    ("version: 4.59.2-1 ; build: 2106\n", "4.59.2-1"),
    ("version: 3.13.0-devel\n", "3.13.0-devel"),
])
def test_daemon_version_line(text: str, version: str) -> None:
    assert labs._version_line(text) == version


def test_daemon_version_line_refuses_other_output() -> None:
    with pytest.raises(labs.LabError, match="no version"):
        labs._version_line("mfsmaster: unknown option\n")


def test_chunk_files_script_lists_id_and_version(tmp_path: Path) -> None:
    (tmp_path / "00").mkdir()
    for name in ("00/chunk_000000000000001A_00000003.mfs", "chunk_0000000000000002_00000001.liz",
                 ".lock", "00/not_a_chunk.mfs"):
        (tmp_path / name).write_text("")
    out = subprocess.run(["sh", "-c", load("runbooks.experiments", "chunk-files.sh"), "x",
                          str(tmp_path)], capture_output=True, text=True, check=True).stdout
    assert sorted(out.splitlines()) == ["0000000000000002 00000001", "000000000000001A 00000003"]
