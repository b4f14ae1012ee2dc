"""mfs.repair's decisions (runbooks/mfs/repair.py): what each chunk would get, and when to refuse.

Fed with mfsfileinfo output captured in the MooseFS lab (tests/data/moosefs).
"""

import json
from pathlib import Path

from runbooks.mfs import parse
from runbooks.mfs.repair import CHUNK_SIZE, FilePlan, chunk_actions, copy_commands, refusals

MFS = Path(__file__).parent / "data" / "moosefs"
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
    assert [[a.action for a in p.actions] for p in plans] == [["erase"], ["unchanged"]]
    reasons = refusals(plans, ["172.21.0.4:9422", "172.21.0.5:9422"], allow_erase=True)
    assert len(reasons) == 1 and reasons[0].startswith("2 chunkserver(s) disconnected")
    assert "Bring them back first." in reasons[0]


def test_erase_without_allow_erase_is_refused_and_allowed_with_it():
    plans = degraded_plans()
    (reason,) = refusals(plans, [], allow_erase=False)
    assert reason.startswith("1 chunk(s) in 1 file(s) have no valid copy")
    assert "--allow-erase" in reason
    assert refusals(plans, [], allow_erase=True) == []


def test_wrong_version_promotion_waits_for_every_server():
    plans = plans_from("wrongversion-mfsfileinfo.txt", ["/mnt/mfs/c/wv"])
    (action,) = plans[0].actions
    assert action.action == "promote" and "172.24.0.3:9422" in action.detail
    assert "REPAIRED" in action.line()
    # A promotion rolls the chunk back: refused while the current copies may be away ...
    assert refusals(plans, ["172.24.0.4:9422"], allow_erase=False)
    # ... and not an erase, so with every server connected it needs no --allow-erase.
    assert refusals(plans, [], allow_erase=False) == []


def test_a_correct_only_repair_is_no_reason_to_refuse_but_servers_away_still_are():
    plans = degraded_plans()
    assert refusals(plans, [], allow_erase=False, correct_only=True) == []
    assert refusals(plans, ["172.21.0.4:9422"], allow_erase=False, correct_only=True)


def test_a_path_that_could_not_be_inspected_is_refused():
    plans = [FilePlan("/mnt/mfs/x", error="EACCES (Permission denied)")]
    (reason,) = refusals(plans, [], allow_erase=True)
    assert reason == "1 path(s) could not be inspected: /mnt/mfs/x: EACCES (Permission denied)"


def test_copy_aside_skips_lost_chunks():
    chunks = [parse.Chunk(0, 1, 1, [parse.Copy("a:9422", "VALID")]), parse.Chunk(1, 2, 1),
              parse.Chunk(2, 3, 1, [parse.Copy("a:9422", "VALID")])]
    actions = chunk_actions(chunks)
    commands = copy_commands("/mnt/mfs/f", "/tmp/f.copy", 2 * CHUNK_SIZE + 5, actions)
    assert commands[0] == ["truncate", "-s", str(2 * CHUNK_SIZE + 5), "/tmp/f.copy"]
    assert [c[5] for c in commands[1:]] == ["seek=0", "seek=2"]
