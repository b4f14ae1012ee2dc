"""MooseFS/LizardFS tool output parsers, fed with output captured in the lab (tests/data/moosefs;
the LizardFS captures are tested in test_parse_lizardfs.py)."""

import json

import pytest

from runbooks.core.errors import ParseError
from runbooks.mfs import parse
from tests.helpers import DATA

MFS = DATA / "moosefs"
NAMES = json.loads((MFS / "healthy-paths.json").read_text())


def text(name, base=MFS):
    return (base / name).read_text()


def test_checkfile_healthy_tree_with_hostile_names():
    result = parse.parse_checkfile(text("healthy-mfscheckfile.txt"), NAMES)
    assert list(result) == NAMES
    assert result["new\nline"].copies == {2: 1}
    assert result["plain"].copies == {3: 1}
    assert result["empty"].chunks == 0
    assert result["  leading space"].copies == {2: 1}
    assert isinstance(result["missing-file"], parse.PathError)
    assert "ENOENT" in result["missing-file"].message


def test_checkfile_degraded():
    result = parse.parse_checkfile(text("degraded-mfscheckfile.txt"), NAMES)
    zero = sorted(name for name, r in result.items()
                  if isinstance(r, parse.CheckFile) and r.copies.get(0))
    # goal-2 files whose copies were all on the stopped servers, not plain (goal 3)
    assert zero == ["  leading space", "$(touch pwned)", "new\nline"]
    assert result["plain"].copies == {1: 1}


def test_fileinfo_copies_and_statuses():
    result = parse.parse_fileinfo(text("healthy-mfsfileinfo.txt"), NAMES)
    (chunk,) = result["$(touch pwned)"]
    assert (chunk.chunk_id, chunk.version, chunk.valid_copies) == (6, 1, 2)
    assert result["empty"] == []
    degraded = parse.parse_fileinfo(text("degraded-mfsfileinfo.txt"), NAMES)
    assert degraded["  leading space"][0].notes == ["no valid copies !!!"]
    assert degraded["  leading space"][0].valid_copies == 0


def test_fileinfo_wrong_version_left_by_a_missed_write():
    (chunks,) = parse.parse_fileinfo(text("wrongversion-mfsfileinfo.txt"),
                                     ["/mnt/mfs/c/wv"]).values()
    (chunk,) = chunks
    assert chunk.hex_id == "0000000000000002" and chunk.version == 2
    assert [c.status for c in chunk.copies] == ["WRONG VERSION"]
    assert chunk.valid_copies == 0 and chunk.copies[0].wrong_version


def test_getgoal_per_file_and_recursive_summary():
    goals = parse.parse_getgoal(text("healthy-mfsgetgoal.txt"), NAMES)
    assert goals["plain"] == 3 and goals["new\nline"] == 2
    assert isinstance(goals["missing-file"], parse.PathError)
    summary = parse.parse_getgoal_recursive(text("healthy-getgoal-r.txt").split("\n", 1)[1])
    assert summary == {2: 7, 3: 1}


def test_mfscli_master_view():
    view = parse.parse_mfscli(text("degraded-mfscli.txt"))
    assert view.classes["missing"] == 4 and view.classes["endangered"] == 4
    assert view.matrix[(2, 0)] == 4
    assert len(view.servers) == 1 and len(view.disconnected) == 3


@pytest.mark.parametrize(
    ("tool_output", "message"),
    [
        ("a:\n chunks with 2 copies:  1\nb:\n sparkles: 3\n", "line 4: unexpected ' sparkles: 3'"),
        ("a:\n chunks with 2 copies:  1\n", "expected 'b', found '(end of output)'"),
        ("zzz:\n", "line 1: expected 'a', found 'zzz:'"),
    ],
)
def test_unparsable_output_names_the_offending_line(tool_output, message):
    with pytest.raises(ParseError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse.parse_checkfile(tool_output, ["a", "b"])


def test_mfscli_unknown_line_is_an_error():
    with pytest.raises(ParseError, match="mfscli output line 1"):
        parse.parse_mfscli("surprise:\tsomething\n")


def test_filerepair_counts():
    out = "f:\n chunks not changed:          1\n chunks erased:               2\n" \
          " chunks repaired:             0\n"
    assert parse.parse_filerepair(out, ["f"]) == {
        "f": {"not changed": 1, "erased": 2, "repaired": 0}}
