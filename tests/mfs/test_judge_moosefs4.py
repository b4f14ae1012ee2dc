"""MooseFS 4: the judge by redundancy level and mfs.repair's plan, on the lab's captures
(tests/data/moosefs4: 2CP and 3CP files, then three of four chunkservers stopped)."""

import json

import pytest

from runbooks.core.findings import Severity
from runbooks.mfs import collect, judge, parse, plan
from tests.helpers import DATA

M4 = DATA / "moosefs4"
PATHS = json.loads((M4 / "paths.json").read_text())
D2 = "/mnt/mfs/h/2cp/"
D3 = "/mnt/mfs/h/3cp/"
LOST = sorted([D2 + n for n in ("  leading", "-dash", "quote'\"", "semi;colon `id`",
                                 "with space")] + [D3 + "f1", D3 + "f5"])


def tree(state: str) -> collect.TreeData:
    """What collect_tree gathers, from the captures of one cluster state."""
    data = collect.TreeData("/mnt/mfs/h", PATHS)
    data.checks = parse.parse_checkfile4((M4 / f"{state}-mfscheckfile.txt").read_text(), PATHS)
    data.goals = parse.parse_getsclass((M4 / f"{state}-mfsgetsclass.txt").read_text(), PATHS)
    infos = parse.parse_fileinfo4((M4 / f"{state}-mfsfileinfo.txt").read_text(), PATHS)
    data.details = {p: infos[p] for p in PATHS
                    if collect.needs_detail(data.checks[p], data.goals[p])}
    return data


def test_healthy_tree_is_ok_and_fetches_no_detail():
    data = tree("healthy")
    assert data.details == {}
    findings, totals = judge.judge_tree(data, "client")
    (ok,) = findings
    assert (ok.severity, ok.message) == (Severity.OK,
                                         "16 files, 16 chunks: every chunk at its goal")
    assert totals == {"files": 16, "chunks": 16, "missing": 0, "endangered": 0,
                      "undergoal": 0, "unchecked": 0}


def test_three_of_four_stopped_zero_copy_chunks_are_crit_level_zero_is_warn():
    findings, totals = judge.judge_tree(tree("degraded"), "client")
    crit = sorted(f.subject for f in findings if f.severity is Severity.CRIT)
    warn = sorted(f.subject for f in findings if f.severity is Severity.WARN)
    assert crit == LOST
    assert warn == sorted(set(PATHS) - set(LOST) - {D3 + "empty"})
    assert totals == {"files": 16, "chunks": 16, "missing": 7, "endangered": 9,
                      "undergoal": 0, "unchecked": 0}
    by_path = {f.subject: f for f in findings}
    lost = by_path[D2 + "with space"]
    assert (lost.check, lost.message, lost.page) == (
        "mfs.missing", "1 chunk with 0 copies (storage class 2CP: redundancy level 1, file "
        "has 1 chunk)", "runbooks/mfs-audit/#missing")
    assert lost.data["chunk_detail"] == [{
        "index": 0, "chunk_id": "0000000000000001", "version": 1, "valid_copies": 0,
        "copies": [], "valid_parts": 0, "redundancy_level": None, "read_as_zeros": False}]
    assert (lost.data["storage_class"], lost.data["redundancy_level"]) == ("2CP", 1)
    big = by_path[D3 + "big file"]
    assert (big.check, big.message, big.page) == (
        "mfs.undergoal", "2 chunks at redundancy level 0 (storage class 3CP: redundancy "
        "level 2, file has 2 chunks)", "runbooks/mfs-audit/#redundancy-level")
    assert [row["redundancy_level"] for row in big.data["chunk_detail"]] == [0, 0]
    assert "read-as-zeros" in lost.why


@pytest.mark.parametrize(("levels", "lost", "sclass", "severity", "message"), [
    ({2: 1}, 0, "3CP", Severity.OK, ""),
    ({1: 1}, 0, "3CP", Severity.WARN, "1 chunk below redundancy level 2 (storage class 3CP: "
     "redundancy level 2, file has 1 chunk)"),
    ({0: 1}, 0, "1CP", Severity.OK, ""),  # a one-copy class asks for nothing more
    ({0: 2}, 0, "archive", Severity.WARN, "2 chunks at redundancy level 0 (storage class "
     "archive, file has 2 chunks)"),
    ({1: 1}, 0, "archive", Severity.OK, ""),  # unknown class: only level 0 is known too low
    ({0: 1, 1: 3}, 1, None, Severity.CRIT, "1 chunk with 0 copies, 1 chunk at redundancy "
     "level 0 (storage class unknown, file has 5 chunks)"),
])
def test_severity_by_level_against_the_class(levels, lost, sclass, severity, message):
    check = parse.CheckFile(copies={0: lost} if lost else {}, levels=levels, lost=lost)
    verdict = judge.classify("/f", check, sclass)
    assert verdict.severity is severity
    if message:
        assert judge._message(verdict, []) == message


def test_ec_parts_count_toward_the_level():
    parts = [parse.Copy(f"10.0.0.{i}:9422", "VALID", f"{k}F{i}")
             for i, k in ((0, "D"), (1, "D"), (2, "D"), (3, "D"), (0, "C"))]
    chunk = parse.Chunk(0, 5, 1, parts)
    assert judge.chunk_level(chunk) == 1
    chunk.copies.pop()
    assert judge.chunk_level(chunk) == 0
    chunk.copies.pop()
    chunk.notes.append(parse.NOTE_UNRECOVERABLE)
    assert judge.chunk_level(chunk) is None


def test_cluster_view_degraded_is_crit_with_levels_and_disconnected_servers():
    view = parse.parse_mfscli_json((M4 / "degraded-mfscli.json").read_text())
    findings = judge.judge_cluster(view, "client", "master:9421")
    cluster = findings[0]
    assert cluster.severity is Severity.CRIT
    assert cluster.message == ("8 chunks missing, 9 endangered, 0 undergoal; 1 chunkserver "
                               "connected, 3 disconnected (master's view, lags its loops)")
    assert cluster.data["redundancy_levels"] == {"1/missing": 6, "1/0": 3, "2/missing": 2,
                                                 "2/0": 6}
    assert [f.subject for f in findings[1:]] == [
        "chunkserver 172.28.0.5:9422", "chunkserver 172.28.0.6:9422",
        "chunkserver 172.28.0.7:9422"]


def test_cluster_view_healed_is_ok():
    view = parse.parse_mfscli_json((M4 / "healed-mfscli.json").read_text())
    (cluster,) = judge.judge_cluster(view, "client", "master:9421")
    assert cluster.severity is Severity.OK
    assert cluster.message == ("0 chunks missing, 0 endangered, 0 undergoal; 4 chunkservers "
                               "connected (master's view, lags its loops)")


def test_counters_the_master_calls_incomplete_are_said_so():
    doc = json.loads((M4 / "healed-mfscli.json").read_text())
    chunks = doc["dataset"]["info"]["chunks"]
    # mfscli.py: "counters may not be valid - %s in progress" while progress_status > 0
    chunks["progress_status"], chunks["progress_str"] = 1, (
        "counters may not be valid - chunk loop in progress")
    (cluster,) = judge.judge_cluster(parse.parse_mfscli_json(json.dumps(doc)), "client", "m")
    assert cluster.message.endswith("(master's view, lags its loops); mfscli: counters may "
                                    "not be valid - chunk loop in progress")


# --- mfs.repair's plan on MooseFS 4 ---------------------------------------------------------

def degraded_plans() -> list[plan.FilePlan]:
    infos = parse.parse_fileinfo4((M4 / "degraded-mfsfileinfo.txt").read_text(), PATHS)
    return plan.file_plans(infos, read_as_zeros=True)


def test_a_zero_copy_chunk_is_planned_read_as_zeros_and_refused_without_allow_erase():
    plans = degraded_plans()
    assert sorted(p.path for p in plans if p.erases) == LOST
    (action,) = next(p for p in plans if p.path == D2 + "with space").actions
    assert action.line() == (
        "chunk 0 (0000000000000001): READ-AS-ZEROS - no copy at all: mfsfilerepair (MooseFS 4, "
        "without -d) would mark the chunk read-as-zeros: it stays in the file, writes to it "
        "fail, reads return zeros (ENXIO while chunkservers are in maintenance) until a valid "
        "copy comes back, and then the data again (-d, never run here, would delete it for "
        "good)")
    assert plan.refusals(plans, [], allow_erase=False) == [
        "7 chunk(s) in 7 file(s) have no valid copy and no older version to promote: repair "
        "would replace them with zeros. If every chunkserver is back and the data is truly "
        "gone, rerun with --allow-erase (the readable chunks are copied aside first)."]
    assert plan.refusals(plans, [], allow_erase=True) == []
    away = plan.refusals(plans, ["172.28.0.5:9422"], allow_erase=True)
    assert len(away) == 1 and away[0].startswith("1 chunkserver(s) disconnected")


def test_level_zero_chunks_are_left_alone_and_ec_parts_are_readable():
    plans = {p.path: p for p in degraded_plans()}
    assert plans[D3 + "big file"].actions == [
        plan.ChunkAction(0, "000000000000000F", "unchanged", "1 valid copy"),
        plan.ChunkAction(1, "0000000000000010", "unchanged", "1 valid copy")]
    parts = [parse.Copy(f"10.0.0.{i}:9422", "VALID", f"DF{i}") for i in range(4)]
    (action,) = plan.chunk_actions([parse.Chunk(0, 5, 1, parts)], read_as_zeros=True)
    assert action == plan.ChunkAction(0, "0000000000000005", "unchanged", "4 valid EC parts")
    stale = [parse.Copy("10.0.0.1:9422", "WRONG VERSION")]
    (action,) = plan.chunk_actions([parse.Chunk(0, 5, 2, stale)], read_as_zeros=True)
    assert action.action == "promote"


def test_the_dry_run_says_which_repair_runs():
    assert plan.preview(collect.MOOSEFS4, degraded_plans(), True) == (
        "dry run: nothing changed; add --apply to run mfsfilerepair without -d (MooseFS 4: a "
        "chunk with no copy is marked read-as-zeros and kept, so a copy that comes back is "
        "read again; -d, which deletes it for good, is never run)\n")


def test_copy_aside_skips_read_as_zeros_chunks():
    (file,) = [p for p in degraded_plans() if p.path == D2 + "with space"]
    assert plan.copy_commands(file.path, "/tmp/c", 100000, file.actions) == [
        ["truncate", "-s", "100000", "/tmp/c"]]
