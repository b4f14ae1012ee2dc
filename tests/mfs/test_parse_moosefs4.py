"""MooseFS 4 (4.59.2) tool output parsers, fed with output captured in the moosefs4 lab
(tests/data/moosefs4, see FORMATS.md): redundancy levels, storage classes, errors on stderr,
mfscli's JSON."""

import json

import pytest

from runbooks.core.errors import ParseError
from runbooks.mfs import parse
from runbooks.mfs.collect import LIZARDFS, MOOSEFS, MOOSEFS4, pick_dialect
from tests.helpers import DATA

M4 = DATA / "moosefs4"
PATHS = json.loads((M4 / "paths.json").read_text())
D2 = "/mnt/mfs/h/2cp/"
D3 = "/mnt/mfs/h/3cp/"
LOOKALIKE = D2 + "1 full copy (redundancy level: 0):          1"
LOST = [D2 + n for n in ("  leading", "-dash", "quote'\"", "semi;colon `id`", "with space")] + [
    D3 + "f1", D3 + "f5"]


def text(name):
    return (M4 / name).read_text()


def test_the_capture_holds_every_hostile_name():
    names = {p.rsplit("/", 1)[1] for p in PATHS}
    assert {"new\nline", "$(touch pwned)", "quote'\"", "-dash", "  leading"} <= names
    assert len(PATHS) == 16


def test_checkfile_healthy_counts_chunks_by_redundancy_level():
    result = parse.parse_checkfile4(text("healthy-mfscheckfile.txt"), PATHS)
    assert list(result) == PATHS
    assert {p: (r.levels, r.lost) for p, r in result.items() if p.startswith(D2)} == dict.fromkeys(
        [p for p in PATHS if p.startswith(D2)], ({1: 1}, 0))
    assert result[LOOKALIKE].levels == {1: 1}  # a name shaped like a body line is a header
    assert result[D3 + "big file"].levels == {2: 2} and result[D3 + "big file"].chunks == 2
    assert result[D3 + "big file"].copies == {3: 2}
    assert (result[D3 + "empty"].levels, result[D3 + "empty"].chunks) == ({}, 0)


def test_checkfile_with_three_of_four_chunkservers_stopped():
    result = parse.parse_checkfile4(text("degraded-mfscheckfile.txt"), PATHS)
    lost = sorted(p for p, r in result.items() if r.lost)
    assert lost == sorted(LOST)
    assert all(result[p].copies == {0: 1} and result[p].levels == {} for p in LOST)
    assert result[D2 + "new\nline"].levels == {0: 1}
    assert result[D3 + "big file"].levels == {0: 2}
    assert result[LOOKALIKE].levels == {0: 1}


def test_checkfile_empty_chunks_line_has_no_count_and_no_newline():
    paths = [D2 + "-dash", D3 + "f1"]
    result = parse.parse_checkfile4(text("empty-chunk-checkfile.txt"), paths)
    assert (result[paths[0]].empty_chunks, result[paths[0]].lost, result[paths[0]].chunks) == (
        1, 0, 0)
    assert result[paths[1]].levels == {2: 1}


def test_chunks_not_found_is_a_lost_chunk_and_ec_lines_parse():
    out = ("a:\nchunks not found:b:\n1 full copy ; 4 EC4 parts (redundancy level: 0):   3\n"
           "2 EC8 parts (redundancy level: 0):   1\nno copies and EC parts :   2\n")
    result = parse.parse_checkfile4(out, ["a", "b"])
    assert (result["a"].lost, result["a"].copies) == (1, {0: 1})
    assert (result["b"].levels, result["b"].lost, result["b"].copies) == ({0: 4}, 2, {0: 2})


@pytest.mark.parametrize("tool", ["checkfile", "fileinfo", "getsclass"])
def test_a_path_the_tool_failed_on_is_named_from_stderr(tool):
    parser = {"checkfile": parse.parse_checkfile4, "fileinfo": parse.parse_fileinfo4,
              "getsclass": parse.parse_getsclass}[tool]
    result = parser(text(f"enoent-{tool}.txt"), ["/nonexist", D3 + "f1"],
                    text(f"enoent-{tool}.err"))
    assert result["/nonexist"] == parse.PathError(
        "realpath error on (/nonexist): ENOENT (No such file or directory)")
    assert not isinstance(result[D3 + "f1"], parse.PathError)


def test_without_a_block_or_a_message_the_path_is_an_error_not_a_guess():
    result = parse.parse_checkfile4("b:\nno copies and EC parts :   1\n", ["a", "b"], "")
    assert result["a"] == parse.PathError("mfscheckfile printed nothing for it")
    assert result["b"].lost == 1


def test_unknown_lines_are_parse_errors():
    with pytest.raises(ParseError, match="line 2: unexpected '3 copies: 1'"):
        parse.parse_checkfile4("a:\n3 copies: 1\n", ["a"])
    with pytest.raises(ParseError, match="mfscheckfile output line 2: unexpected ' chunks with"):
        # the MooseFS 3 shape is not read as MooseFS 4
        parse.parse_checkfile4("a:\n chunks with 2 copies:  1\n", ["a"])


def test_fileinfo_healthy_and_degraded():
    healthy = parse.parse_fileinfo4(text("healthy-mfsfileinfo.txt"), PATHS)
    (chunk,) = healthy[D2 + "$(touch pwned)"]
    assert (chunk.hex_id, chunk.version, chunk.valid_copies, chunk.notes) == (
        "0000000000000004", 1, 2, [])
    assert [c.server for c in chunk.copies] == ["172.28.0.4:9422", "172.28.0.5:9422"]
    assert healthy[D3 + "empty"] == []
    assert [c.chunk_id for c in healthy[D3 + "big file"]] == [15, 16]
    degraded = parse.parse_fileinfo4(text("degraded-mfsfileinfo.txt"), PATHS)
    (lost,) = degraded[D2 + "with space"]
    assert (lost.hex_id, lost.valid_copies, lost.copies) == ("0000000000000001", 0, [])
    assert lost.unrecoverable and not lost.read_as_zeros
    assert sorted(p for p, chunks in degraded.items()
                  if any(c.unrecoverable for c in chunks)) == sorted(LOST)


def test_fileinfo_after_a_repair_marks_read_as_zeros_and_after_d_the_chunk_is_gone():
    repaired = text("repair-readzeros.txt").split("rc=0\n", 1)[1]
    fileinfo = repaired[repaired.index(D2 + "with space:\n\tchunk"):repaired.index("dd:")]
    (chunk,) = parse.parse_fileinfo4(fileinfo, [D2 + "with space"])[D2 + "with space"]
    assert chunk.read_as_zeros and chunk.unrecoverable and chunk.version == 1
    healed = text("after-heal-readzeros.txt")
    fileinfo = healed[healed.index(D2 + "with space:\n\tchunk"):healed.index("1+1 records")]
    (chunk,) = parse.parse_fileinfo4(fileinfo, [D2 + "with space"])[D2 + "with space"]
    assert chunk.read_as_zeros and not chunk.unrecoverable and chunk.valid_copies == 2
    erased = text("repair-erase.txt")
    fileinfo = erased[erased.index(D2 + "-dash:\n\tchunk"):erased.index("1+1 records")]
    (chunk,) = parse.parse_fileinfo4(fileinfo, [D2 + "-dash"])[D2 + "-dash"]
    assert chunk.empty


def test_fileinfo_ec_parts_and_statuses_as_the_source_prints_them():
    out = ("f:\n\tchunk 0: 0000000000000011_00000002 / (id:17 ver:2) ; mtime:0 (old chunk - "
           "not set)\n\t\tEC part DF0: 10.0.0.1:9422 ; status:VALID\n"
           "\t\tEC part CF0: 10.0.0.2:9422 ; status:WRONG VERSION , MARKED FOR REMOVAL\n"
           "\t\tdata parts missing - recoverable\n")
    (chunk,) = parse.parse_fileinfo4(out, ["f"])["f"]
    assert [(c.part, c.status) for c in chunk.copies] == [
        ("DF0", "VALID"), ("CF0", "WRONG VERSION, MARKED FOR REMOVAL")]
    assert (chunk.valid_copies, chunk.valid_parts, chunk.notes) == (
        0, 1, ["data parts missing - recoverable"])


def test_filerepair_counts_and_the_read_as_zeros_repair():
    path = D2 + "with space"
    out = text("repair-readzeros.txt")
    assert parse.parse_filerepair(out[:out.index("rc=")], [path]) == {
        path: {"not changed": 0, "erased": 0, "repaired": 1}}
    out = text("repair-erase.txt")
    assert parse.parse_filerepair(out[:out.index("rc=")], [D2 + "-dash"]) == {
        D2 + "-dash": {"not changed": 0, "erased": 1, "repaired": 0}}
    assert parse.parse_filerepair("", ["x"], "x: EPERM (Operation not permitted)\n") == {
        "x": parse.PathError("EPERM (Operation not permitted)")}


def test_getsclass_per_file_and_recursive():
    classes = parse.parse_getsclass(text("healthy-mfsgetsclass.txt"), PATHS)
    assert {p: c for p, c in classes.items()} == {
        p: "2CP" if p.startswith(D2) else "3CP" for p in PATHS}
    summary = parse.parse_getsclass_recursive(text("healthy-mfsgetsclass-r.txt").split("\n", 1)[1])
    assert summary == {"2CP": 8, "3CP": 8}


@pytest.mark.parametrize(("name", "level"), [
    ("1CP", 0), ("2CP", 1), ("3CP", 2), ("EC4+1", 1), ("EC8+2", 2), ("fast", None), (3, None),
    (None, None)])
def test_class_level_from_the_predefined_names(name, level):
    assert parse.class_level(name) == level


def test_mfscli_json_degraded():
    view = parse.parse_mfscli_json(text("degraded-mfscli.json"))
    assert (view.classes["missing"], view.classes["endangered"], view.classes["undergoal"]) == (
        8, 9, 0)
    assert view.levels == {"1/missing": 6, "1/0": 3, "2/missing": 2, "2/0": 6}
    assert view.servers == ["172.28.0.4:9422"]
    assert view.disconnected == ["172.28.0.5:9422", "172.28.0.6:9422", "172.28.0.7:9422"]
    assert view.missing_files == []  # the master's file loop had not run yet


def test_mfscli_json_healed_and_missing_files_rows():
    view = parse.parse_mfscli_json(text("healed-mfscli.json"))
    assert view.levels == {"none/1": 1, "1/1": 8, "2/2": 8}
    assert (len(view.servers), view.disconnected, view.classes["missing"]) == (4, [], 0)
    doc = json.loads(text("degraded-mfscli.json"))
    doc["dataset"]["info"]["missing"] = [{"paths": ["/h/a", "/h/b"], "inode": 5, "index": 0,
                                          "chunkid": "0000000000000003", "type": 1,
                                          "type_txt": "No copy"}]
    view = parse.parse_mfscli_json(json.dumps(doc))
    assert [(r["path"], r["chunk"], r["type"]) for r in view.missing_files] == [
        ("/h/a", "0000000000000003", "No copy"), ("/h/b", "0000000000000003", "No copy")]


@pytest.mark.parametrize("bad", ["", "{}", '{"dataset": {"info": {}}}', "not json"])
def test_mfscli_json_of_another_shape_is_a_parse_error(bad):
    with pytest.raises(ParseError, match="mfscli -j"):
        parse.parse_mfscli_json(bad)


@pytest.mark.parametrize(("lines", "dialect"), [
    (["/usr/bin/mfscheckfile", "mfs-version=4.59.2-1 ; build: 2106"], MOOSEFS4),
    (["/usr/bin/mfscheckfile", "mfs-version=3.0.117-1 ; build: 1341"], MOOSEFS),
    (["/usr/bin/mfscheckfile", "mfs-version=4.x (from mfsfilerepair's help)"], MOOSEFS4),
    (["/usr/bin/mfscheckfile", ""], MOOSEFS),  # nothing said 4: MooseFS 3 as before
    (["/usr/bin/lizardfs", ""], LIZARDFS),
])
def test_detection_from_mfsmount_version(lines, dialect):
    assert pick_dialect(lines, "t") is dialect
