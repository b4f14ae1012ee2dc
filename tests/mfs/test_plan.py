"""mfs.repair's decisions (runbooks/mfs/plan.py): what each chunk would get, and when to refuse.

Fed with mfsfileinfo output captured in the MooseFS lab (tests/data/moosefs).
"""

import json
import subprocess
from pathlib import Path

import pytest

from runbooks.mfs import parse
from runbooks.mfs.plan import (
    CHUNK_SIZE,
    ChunkAction,
    FilePlan,
    chunk_actions,
    copy_commands,
    describe,
    refusals,
)
from tests.helpers import DATA

MFS = DATA / "moosefs"
AWAY = ("1 chunkserver(s) disconnected from the master (172.24.0.4:9422): their copies "
        "count as absent, so repair would erase or roll back chunks that come back with "
        "them. Bring them back first.")
ERASE = ("1 chunk(s) in 1 file(s) have no valid copy and no older version to promote: "
         "repair would replace them with zeros. If every chunkserver is back and the data "
         "is truly gone, rerun with --allow-erase (the readable chunks are copied aside "
         "first).")
DEGRADED = ["  leading space", "plain"]  # 0 valid copies; 1 valid copy


def plans_from(name: str, paths: list[str]) -> list[FilePlan]:
    infos = parse.parse_fileinfo((MFS / name).read_text(), paths)
    return [FilePlan(p, chunk_actions(c)) for p, c in infos.items() if isinstance(c, list)]


def degraded_plans() -> list[FilePlan]:
    """Two files of the lab's tree with 3 of 4 chunkservers stopped."""
    names = json.loads((MFS / "healthy-paths.json").read_text())
    return [p for p in plans_from("degraded-mfsfileinfo.txt", names) if p.path in DEGRADED]


def test_zero_copies_with_servers_missing_is_refused_even_with_allow_erase():
    plans = degraded_plans()
    assert [(p.path, p.actions) for p in plans] == [
        ("  leading space", [ChunkAction(0, "0000000000000008", "erase",
                                         "no copy at all: the chunk would be deleted and read "
                                         "as zeros")]),
        ("plain", [ChunkAction(0, "0000000000000002", "unchanged", "1 valid copy")]),
    ]
    reasons = refusals(plans, ["172.21.0.4:9422", "172.21.0.5:9422"], allow_erase=True)
    assert reasons == [
        "2 chunkserver(s) disconnected from the master (172.21.0.4:9422, 172.21.0.5:9422): "
        "their copies count as absent, so repair would erase or roll back chunks that come "
        "back with them. Bring them back first."]


def test_erase_without_allow_erase_is_refused_and_allowed_with_it():
    plans = degraded_plans()
    assert refusals(plans, [], allow_erase=False) == [ERASE]
    assert refusals(plans, [], allow_erase=True) == []


def test_wrong_version_promotion_waits_for_every_server():
    plans = plans_from("wrongversion-mfsfileinfo.txt", ["/mnt/mfs/c/wv"])
    (action,) = plans[0].actions
    assert action.line() == ("chunk 0 (0000000000000002): REPAIRED - no valid copy; an older "
                             "version on 172.24.0.3:9422 would become current (writes after "
                             "it are lost)")
    assert plans[0].changes and plans[0].erases == []
    # A promotion rolls the chunk back: refused while the current copies may be away ...
    assert refusals(plans, ["172.24.0.4:9422"], allow_erase=False) == [AWAY]
    # ... and not an erase, so with every server connected it needs no --allow-erase.
    assert refusals(plans, [], allow_erase=False) == []


def test_a_correct_only_repair_is_no_reason_to_refuse_but_servers_away_still_are():
    plans = degraded_plans()
    assert refusals(plans, [], allow_erase=False, correct_only=True) == []
    assert refusals(plans, ["172.24.0.4:9422"], allow_erase=False, correct_only=True) == [AWAY]


def test_a_path_that_could_not_be_inspected_is_refused():
    plans = [FilePlan("/mnt/mfs/x", error="EACCES (Permission denied)")]
    (reason,) = refusals(plans, [], allow_erase=True)
    assert reason == "1 path(s) could not be inspected: /mnt/mfs/x: EACCES (Permission denied)"


def test_copy_aside_skips_lost_chunks():
    chunks = [parse.Chunk(0, 1, 1, [parse.Copy("a:9422", "VALID")]), parse.Chunk(1, 2, 1),
              parse.Chunk(2, 3, 1, [parse.Copy("a:9422", "VALID")])]
    actions = chunk_actions(chunks)
    commands = copy_commands("/mnt/mfs/f", "/tmp/f.copy", 2 * CHUNK_SIZE + 5, actions)
    assert commands == [
        ["truncate", "-s", str(2 * CHUNK_SIZE + 5), "/tmp/f.copy"],
        *[["dd", "if=/mnt/mfs/f", "of=/tmp/f.copy", f"bs={CHUNK_SIZE}", f"skip={i}",
           f"seek={i}", "count=1", "conv=notrunc", "status=none"] for i in (0, 2)],
    ]


def copy(status, server="a:9422"):
    return parse.Copy(server, status)


@pytest.mark.parametrize(("copies", "action", "detail"), [
    ([copy("VALID")], "unchanged", "1 valid copy"),
    ([copy("VALID"), copy("VALID", "b:9422")], "unchanged", "2 valid copies"),
    # a copy about to be removed still holds the data: the master leaves the chunk alone
    ([copy("MARKED FOR REMOVAL")], "unchanged", "1 valid copy"),
    # a valid copy wins over an older version: nothing is rolled back
    ([copy("WRONG VERSION"), copy("VALID", "b:9422")], "unchanged", "1 valid copy"),
    ([copy("WRONG VERSION"), copy("WRONG VERSION", "b:9422")], "promote",
     "no valid copy; an older version on a:9422, b:9422 would become current (writes after "
     "it are lost)"),
    ([copy("INVALID"), copy("INVALID", "b:9422")], "erase",
     "only INVALID copies (2): the chunk would be deleted and read as zeros"),
    ([copy("INVALID"), copy("WRONG VERSION", "b:9422")], "promote",
     "no valid copy; an older version on b:9422 would become current (writes after it are "
     "lost)"),
    ([], "erase", "no copy at all: the chunk would be deleted and read as zeros"),
])
def test_each_kind_of_chunk_gets_the_masters_verdict(copies, action, detail):
    (planned,) = chunk_actions([parse.Chunk(3, 0xA1, 2, copies)])
    assert planned == ChunkAction(3, "00000000000000A1", action, detail)


def test_empty_chunks_are_not_planned_and_a_file_without_changes_changes_nothing():
    chunks = [parse.Chunk(0), parse.Chunk(1, 7, 1, [copy("VALID")]), parse.Chunk(2)]
    plan = FilePlan("/mnt/mfs/sparse", chunk_actions(chunks))
    assert [a.index for a in plan.actions] == [1]
    assert (plan.changes, plan.erases) == (False, [])


def test_without_listed_stale_copies_a_copyless_chunk_is_planned_as_the_worst_case():
    # LizardFS's fileinfo hides older versions: an erase cannot be ruled out beforehand.
    (planned,) = chunk_actions([parse.Chunk(0, 9, 4)], lists_stale_copies=False)
    assert planned.action == "erase"
    assert planned.line() == (
        "chunk 0 (0000000000000009): ERASED - no valid copy listed: an older version, if a "
        "chunkserver holds one, would be promoted (filerepair -c does only that); otherwise "
        "the chunk would be deleted and read as zeros")


def test_every_reason_at_once_in_a_fixed_order():
    erasing = FilePlan("/mnt/mfs/a", chunk_actions([parse.Chunk(0, 1, 1), parse.Chunk(1, 2, 1),
                                                   parse.Chunk(2, 3, 1, [copy("VALID")])]))
    also = FilePlan("/mnt/mfs/b", chunk_actions([parse.Chunk(0, 4, 1)]))
    failed = [FilePlan("/mnt/mfs/c", error="ENOENT (No such file or directory)"),
              FilePlan("/mnt/mfs/d", error="EACCES (Permission denied)")]
    reasons = refusals([erasing, also, *failed], ["172.24.0.4:9422"], allow_erase=False)
    assert reasons == [
        AWAY,
        "3 chunk(s) in 2 file(s) have no valid copy and no older version to promote: repair "
        "would replace them with zeros. If every chunkserver is back and the data is truly "
        "gone, rerun with --allow-erase (the readable chunks are copied aside first).",
        "2 path(s) could not be inspected: /mnt/mfs/c: ENOENT (No such file or directory)",
    ]
    # --allow-erase lifts only the erase refusal; a path not inspected is never repaired
    assert refusals([erasing, *failed], [], allow_erase=True) == [reasons[2]]


def test_nothing_to_refuse_when_every_chunk_has_a_valid_copy():
    healthy = FilePlan("/mnt/mfs/ok", chunk_actions([parse.Chunk(0, 1, 1, [copy("VALID")])]))
    assert refusals([healthy], [], allow_erase=False) == []
    assert refusals([], [], allow_erase=False) == []


@pytest.mark.parametrize(("size", "read"), [
    (0, []),
    (1, [0]),
    (CHUNK_SIZE, [0]),
    (CHUNK_SIZE + 1, [0, 1]),
    (3 * CHUNK_SIZE, [0, 1, 2]),
])
def test_copy_aside_reads_every_chunk_the_size_covers(size, read):
    commands = copy_commands("/mnt/mfs/f", "/mnt/mfs/f.copy", size, [])
    assert commands[0] == ["truncate", "-s", str(size), "/mnt/mfs/f.copy"]
    assert [c[4] for c in commands[1:]] == [f"skip={i}" for i in read]


def test_copy_aside_of_a_hostile_name_is_one_argument_and_its_shell_text_runs_as_is(tmp_path):
    path = str(tmp_path / "semi;colon `id` $(touch pwned) 'q\"")
    dest = path + ".bp-copy"
    commands = copy_commands(path, dest, 10, [])
    assert commands == [["truncate", "-s", "10", dest],
                        ["dd", f"if={path}", f"of={dest}", f"bs={CHUNK_SIZE}", "skip=0",
                         "seek=0", "count=1", "conv=notrunc", "status=none"]]
    # the text shown to the operator, run by a shell, copies the file and nothing else
    Path(path).write_bytes(b"0123456789")
    proc = subprocess.run(["sh", "-c", describe(commands)], cwd=tmp_path, capture_output=True,
                          text=True, check=False, timeout=60)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert Path(dest).read_bytes() == b"0123456789"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([Path(path).name,
                                                                 Path(dest).name])
