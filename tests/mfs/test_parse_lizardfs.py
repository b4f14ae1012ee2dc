"""LizardFS: parse, judge and repair decisions fed with output captured from LizardFS 3.13
clusters in the lab: three of four chunkservers stopped, and one of four stopped after the
master's file loop had listed the damaged files (tests/data/lizardfs/captured-*, FORMATS.md)."""


import pytest

from runbooks.core.errors import ParseError
from runbooks.core.findings import Severity
from runbooks.mfs import collect, parse
from runbooks.mfs.judge import judge_cluster, judge_tree
from runbooks.mfs.plan import FilePlan, chunk_actions, refusals
from runbooks.mounts.parse import parse_mounts
from tests.helpers import DATA

LIZ = DATA / "lizardfs"


def captured(name: str) -> str:
    return (LIZ / f"captured-{name}.txt").read_text()


def captured_view() -> parse.ClusterView:
    return parse.lizardfs_view(captured("chunks-health"), captured("list-defective-files"),
                               captured("list-chunkservers"))


def captured_plans() -> list[FilePlan]:
    infos = {
        **parse.parse_fileinfo(captured("fileinfo-f17"), ["f17"]),
        **parse.parse_fileinfo(captured("fileinfo-big-file"), ["big file"]),
    }
    return [FilePlan(name, chunk_actions(chunks, collect.LIZARDFS.lists_stale_copies))
            for name, chunks in infos.items()]


def test_list_chunkservers_shows_a_disconnected_server_with_a_dash_version():
    servers = parse.parse_lizardfs_chunkservers(captured("list-chunkservers"))
    assert [(s.address, s.connected) for s in servers] == [
        ("172.28.0.6:9422", False), ("172.28.0.5:9422", False), ("172.28.0.4:9422", False),
        ("172.28.0.3:9422", True)]
    up = servers[-1]
    assert (up.version, up.chunks, up.used, up.total, up.label) == (
        "3.13.0", 16, 42817101824, 108944293888, "L1")


@pytest.mark.parametrize("line", [
    "172.28.0.3:9422 3.13.0 16 42817101824 108944293888 0 0 0 L1",  # a field short
    "172.28.0.3:9422 3.13.0 lots 42817101824 108944293888 0 0 0 0 L1",
    "Server 172.28.0.6:9422: disconnected",  # the human-readable form, not --porcelain
])
def test_list_chunkservers_of_another_shape_is_a_parse_error(line):
    with pytest.raises(ParseError, match="list-chunkservers line 1"):
        parse.parse_lizardfs_chunkservers(line + "\n")


def test_cluster_view_counts_one_connected_and_three_disconnected():
    view = captured_view()
    assert view.servers == ["172.28.0.3:9422"]
    assert view.disconnected == ["172.28.0.6:9422", "172.28.0.5:9422", "172.28.0.4:9422"]
    assert view.classes == {"missing": 5, "endangered": 16}
    assert view.missing_files == []  # list-defective-files printed nothing


def test_judge_cluster_on_the_capture_names_the_disconnected_servers():
    findings = judge_cluster(captured_view(), "client", "mfsmaster:9421")
    cluster = findings[0]
    assert cluster.severity is Severity.CRIT
    assert "5 chunks missing, 16 endangered" in cluster.message
    assert "1 chunkserver connected, 3 disconnected" in cluster.message
    assert cluster.data["servers"] == 1 and cluster.data["disconnected"] == 3
    # The master's damaged-file list was empty while chunks were lost: it proves nothing.
    assert cluster.data["files_named"] == 0 and "proves nothing" in cluster.why
    assert sorted(f.subject for f in findings if f.check == "mfs.disconnected") == [
        "chunkserver 172.28.0.4:9422", "chunkserver 172.28.0.5:9422",
        "chunkserver 172.28.0.6:9422"]


def test_the_lizardfs_cluster_view_asks_for_the_chunkserver_list():
    commands = collect.cluster_commands(collect.LIZARDFS, "mfsmaster", 9421)
    assert ["lizardfs-admin", "list-chunkservers", "mfsmaster", "9421", "--porcelain"] in commands
    assert [c[1] for c in commands] == ["list-chunkservers", "chunks-health",
                                        "list-defective-files"]
    assert collect.cluster_commands(collect.LIZARDFS, "mfsmaster", None)[0][3] == "9421"


def test_repair_refuses_on_the_capture_even_with_allow_erase():
    plans = captured_plans()
    assert [(p.path, [a.action for a in p.actions]) for p in plans] == [
        ("f17", ["erase"]), ("big file", ["unchanged", "erase"])]
    reasons = refusals(plans, captured_view().disconnected, allow_erase=True, correct_only=True)
    assert len(reasons) == 1
    assert reasons[0].startswith("3 chunkserver(s) disconnected from the master (172.28.0.6:9422")


def test_lizardfs_plan_says_an_older_version_may_be_promoted():
    (action,) = captured_plans()[0].actions
    assert "no valid copy listed" in action.detail and "filerepair -c" in action.detail


def test_captured_checkfile_and_fileinfo():
    checks = parse.parse_checkfile(captured("checkfile"), [f"f{n}" for n in range(1, 7)])
    assert checks["f4"].copies == {0: 1}
    assert all(checks[f"f{n}"].copies == {1: 1} for n in (1, 2, 3, 5, 6))
    big = parse.parse_checkfile(captured("checkfile-big-file"), ["big file"])["big file"]
    assert big.copies == {0: 1, 1: 1}
    chunks = parse.parse_fileinfo(captured("fileinfo-big-file"), ["big file"])["big file"]
    assert [c.server for c in chunks[0].copies] == ["172.28.0.3:9422:L1"]
    assert chunks[1].valid_copies == 0 and chunks[1].notes == ["no valid copies !!!"]


def test_captured_mount_line_is_a_lizardfs_mount_with_its_master():
    (entry,) = parse_mounts(captured("proc-mounts"))
    assert (entry.fstype, entry.device) == ("fuse.mfs", "mfsmaster:9421")
    assert parse.master_from_mount(entry.fstype, entry.device) == ("mfsmaster", 9421)


@pytest.mark.parametrize(("fstype", "source", "master"), [
    ("fuse", "mfs#mfsmaster:9421", ("mfsmaster", 9421)),  # MooseFS 3
    ("fuse.mfs", "10.0.0.5:9521", ("10.0.0.5", 9521)),
    ("fuse.mfs", "mfsmaster", ("mfsmaster", None)),
    ("ext4", "/dev/sda1", None),
    ("fuse.sshfs", "backup@nas:/srv", None),
    ("fuse", "sshfs#nas:/srv", None),
])
def test_which_mounts_are_moosefs_or_lizardfs(fstype, source, master):
    assert parse.master_from_mount(fstype, source) == master


def test_findmnt_raw_output_is_unescaped():
    assert parse.parse_findmnt("/mnt/my\\x20lfs fuse.mfs mfsmaster:9421\n") == (
        "/mnt/my lfs", "fuse.mfs", "mfsmaster:9421")
    with pytest.raises(ParseError, match="findmnt"):
        parse.parse_findmnt("/mnt/lfs fuse.mfs\n")


# --- One chunkserver (cs1, label A) stopped; the master's file loop had run -----------------

PROJECTS = "/mnt/mfs/projects/"


def test_checkfile_counts_copies_per_chunk_and_an_empty_file_has_no_line():
    paths = [PROJECTS + n for n in ("healthy.bin", "damaged3.bin", "empty.txt")]
    checks = parse.parse_checkfile(captured("checkfile-projects"), paths)
    assert checks[paths[0]].copies == {1: 1, 2: 1}
    assert checks[paths[1]].copies == {0: 1, 1: 1}
    assert checks[paths[2]].chunks == 0


def test_fileinfo_labels_holes_and_xor_parts():
    paths = [PROJECTS + n for n in ("healthy.bin", "damaged3.bin", "sparse.img", "archive.tar")]
    infos = parse.parse_fileinfo(captured("fileinfo-projects"), paths)
    assert [c.server for c in infos[paths[0]][1].copies] == [
        "192.168.16.5:9422:B", "192.168.16.6:9422:C"]
    assert infos[paths[1]][0].valid_copies == 0 and infos[paths[1]][1].valid_copies == 1
    assert infos[paths[2]][0].empty and not infos[paths[2]][1].empty
    # an xor2 chunk: three parts, each line " part N/3 of xor2" after the label
    (xor,) = infos[paths[3]]
    assert [c.server for c in xor.copies] == [
        "192.168.16.5:9422:B", "192.168.16.6:9422:C", "192.168.16.7:9422:D"]


def test_defective_files_are_rooted_paths_with_their_inode_even_with_a_quote():
    assert parse.parse_lizardfs_defective(captured("list-defective-files-filled")) == [
        ("/projects/healthy.bin", "4", 2), ("/projects/damaged3.bin", "10", 1),
        ("/projects/damaged6.bin", "13", 1), ('/projects/say "hi"', "14", 1)]


def test_a_filled_defective_list_names_the_files_in_the_cluster_view():
    view = parse.lizardfs_view(captured("chunks-health-full"),
                               captured("list-defective-files-filled"),
                               captured("list-chunkservers-cs1-stopped"))
    assert view.disconnected == ["192.168.16.4:9422"] and len(view.servers) == 3
    # goal 1: 10 chunks with their one copy (endangered), 3 lost; goal 2: 1 endangered
    assert view.classes == {"missing": 3, "endangered": 11}
    assert [(r["path"], r["inode"]) for r in view.missing_files] == [
        ("/projects/damaged3.bin", "10"), ("/projects/damaged6.bin", "13"),
        ('/projects/say "hi"', "14")]
    assert view.undergoal_files == ["/projects/healthy.bin"]
    findings = judge_cluster(view, "client", "master:9421")
    assert findings[0].severity is Severity.CRIT and findings[0].data["files_named"] == 3
    assert [f.subject for f in findings if f.check == "mfs.missing"] == [
        "/projects/damaged3.bin", "/projects/damaged6.bin", '/projects/say "hi"']


def test_chunks_health_prints_every_goal_with_rep_and_del_rows():
    text = captured("chunks-health-full")
    assert [line.split()[0] for line in text.splitlines()] == ["AVA"] * 40 + ["REP"] * 40 + \
        ["DEL"] * 40
    health = parse.parse_lizardfs_health(text)
    assert len(health) == 40 and health["xor2"] == {"safe": 1, "endangered": 0, "lost": 0}
    assert health["1"] == {"safe": 0, "endangered": 10, "lost": 3}


def test_filerepair_counts_correct_only_and_erasing():
    (name,) = parse.parse_filerepair(captured("filerepair-c"), [PROJECTS + "damaged3.bin"])
    assert parse.parse_filerepair(captured("filerepair-c"), [name])[name] == {
        "not changed": 2, "erased": 0, "repaired": 0}
    erased = parse.parse_filerepair(captured("filerepair"), [PROJECTS + "damaged6.bin"])
    assert erased == {PROJECTS + "damaged6.bin": {"not changed": 1, "erased": 1, "repaired": 0}}


def test_a_defective_list_older_than_the_chunks_state_names_no_missing_file():
    # Seen after a master restart (the master-restore experiment): the file loop had run
    # before the chunkservers registered, and every file stayed listed as unavailable
    # while chunks-health, which is current, counted no lost chunk. Here: the captured
    # defective list with the captured health table's lost column set to 0.
    healthy = "\n".join(
        " ".join([*fields[:-1], "0"]) if fields[0] == "AVA" else line
        for line in captured("chunks-health-full").splitlines()
        for fields in [line.split()])
    view = parse.lizardfs_view(healthy, captured("list-defective-files-filled"),
                               captured("list-chunkservers"))
    assert view.classes.get("missing") == 0 and view.missing_files == []
    assert view.stale_missing == ["/projects/damaged3.bin", "/projects/damaged6.bin",
                                  '/projects/say "hi"']
    findings = judge_cluster(view, "client", "master:9421")
    assert [f.check for f in findings if f.check == "mfs.missing"] == []
    assert findings[0].severity is Severity.WARN
    assert "names 3 files unavailable, but no chunk is lost now" in findings[0].message


# Capture 3 (FORMATS.md): an xor2 and an ec(2,1) file, healthy, with cs1 stopped, and with
# cs1 and cs3 stopped.
SLICED = ["/mnt/mfs/x/f1", "/mnt/mfs/e/f1"]
SLICE_STATES = ("healthy", "cs1-stopped", "cs1-cs3-stopped")


def sliced(kind: str, state: str) -> str:
    return captured(f"slices-{kind}-{state}")


def sliced_tree(state: str) -> collect.TreeData:
    goals = parse.parse_getgoal(captured("slices-getgoal"), SLICED)
    checks = parse.parse_checkfile(sliced("checkfile", state), SLICED)
    infos = parse.parse_fileinfo(sliced("fileinfo", state), SLICED)
    at_risk = [p for p in SLICED if collect.needs_detail(checks[p], goals[p])]
    return collect.TreeData("/mnt/mfs", SLICED, goals, checks, {p: infos[p] for p in at_risk})


def test_sliced_parts_are_parts_not_copies_with_their_slice_type():
    infos = parse.parse_fileinfo(sliced("fileinfo", "healthy"), SLICED)
    (xor,), (ec,) = infos[SLICED[0]], infos[SLICED[1]]
    assert xor.valid_copies == ec.valid_copies == 0
    assert xor.valid_parts == ec.valid_parts == 3
    assert (xor.slice.type, xor.slice.data, xor.slice.parity) == ("xor2", 2, 1)
    assert (ec.slice.type, ec.slice.data, ec.slice.parity) == ("ec(2,1)", 2, 1)
    assert sorted(c.slice.index for c in xor.copies) == [1, 2, 3]


@pytest.mark.parametrize(("state", "level"), list(zip(SLICE_STATES, (1, 0, None), strict=True)))
def test_a_sliced_chunk_level_counts_distinct_parts_beyond_the_data_parts(state, level):
    infos = parse.parse_fileinfo(sliced("fileinfo", state), SLICED)
    for path in SLICED:
        (chunk,) = infos[path]
        assert chunk.slice_level() == level
        assert chunk.unrecoverable is (level is None)


def test_checkfile_cannot_tell_a_healthy_sliced_chunk_from_one_short_of_a_part():
    # why the audit reads fileinfo for these files instead of the copy histogram
    for state in SLICE_STATES[:2]:
        checks = parse.parse_checkfile(sliced("checkfile", state), SLICED)
        assert [checks[p].copies for p in SLICED] == [{1: 1}, {1: 1}]


@pytest.mark.parametrize(("state", "severity", "counts"), [
    ("healthy", Severity.OK, (0, 0)),
    ("cs1-stopped", Severity.WARN, (0, 2)),
    ("cs1-cs3-stopped", Severity.CRIT, (2, 0)),
])
def test_the_audit_judges_sliced_goals_by_parts(state, severity, counts):
    findings, totals = judge_tree(sliced_tree(state), "client")
    assert max(f.severity for f in findings) is severity
    assert (totals["missing"], totals["endangered"]) == counts
    if severity is Severity.WARN:  # LizardFS prints a named goal bare: "PATH: xor2"
        assert [f.message for f in findings] == [
            "1 chunk at redundancy level 0 (goal xor2: redundancy level 1, file has 1 chunk)",
            "1 chunk at redundancy level 0 (goal ec21: redundancy level 1, file has 1 chunk)"]


def test_the_master_counts_sliced_chunks_by_goal_name_as_the_audit_does():
    healthy = parse.parse_lizardfs_health(sliced("chunks-health", "healthy"))
    lost = parse.parse_lizardfs_health(sliced("chunks-health", "cs1-cs3-stopped"))
    assert healthy["xor2"] == {"safe": 1, "endangered": 0, "lost": 0}
    assert lost["ec21"] == {"safe": 0, "endangered": 0, "lost": 1}


def test_repair_plan_keeps_a_readable_sliced_chunk_and_names_the_parts_an_unreadable_lacks():
    for state, action in (("healthy", "unchanged"), ("cs1-stopped", "unchanged"),
                          ("cs1-cs3-stopped", "erase")):
        infos = parse.parse_fileinfo(sliced("fileinfo", state), SLICED)
        (xor,) = chunk_actions(infos[SLICED[0]], collect.LIZARDFS.lists_stale_copies)
        assert xor.action == action, (state, xor)
    assert xor.detail.startswith("only 1 of the 2 xor2 parts it needs to be read")
