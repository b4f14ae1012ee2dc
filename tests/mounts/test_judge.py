"""The mount-option rules: what is flagged, how badly, and what is left alone."""

from dataclasses import replace

import pytest

from runbooks.core.errors import UsageError
from runbooks.core.findings import Severity
from runbooks.mounts.judge import judge_mounts, judge_selection, parse_accepts
from runbooks.mounts.parse import parse_mounts
from tests.helpers import DATA


def judge(line, **kw):
    return [(f.severity, f.message) for f in judge_mounts(parse_mounts(line), "t", **kw)]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("rw,nobarrier", [(Severity.CRIT, "nobarrier")]),
        ("rw,barrier=0", [(Severity.CRIT, "barrier=0")]),
        ("rw,data=writeback", [(Severity.WARN, "data=writeback")]),
        ("rw,errors=continue", [(Severity.WARN, "errors=continue")]),
        ("rw,noblock_validity", [(Severity.WARN, "noblock_validity")]),
        ("rw,commit=300", [(Severity.WARN, "commit=300")]),
        ("rw,commit=30", [(Severity.OK, "ext4: no risky options")]),
        ("rw,relatime,errors=remount-ro,data=ordered",
         [(Severity.OK, "ext4: no risky options")]),
        ("rw,barrier=1,data=journal", [(Severity.OK, "ext4: no risky options")]),
    ],
)
def test_ext4_rules(options, expected):
    assert judge(f"/dev/sdb1 /data ext4 {options} 0 0") == expected


def test_story_nas_gets_both_findings_worst_first_in_rule_order():
    line = "/dev/md0 /i-data/ef9c2dc9 ext4 rw,noatime,barrier=0,data=writeback,usrquota 0 0"
    assert judge(line) == [(Severity.CRIT, "barrier=0"), (Severity.WARN, "data=writeback")]


def test_xfs_nobarrier_is_critical_and_ext_only_rules_do_not_apply():
    assert judge("/dev/sdc /x xfs rw,nobarrier,errors=continue 0 0") == [
        (Severity.CRIT, "nobarrier")
    ]


def test_other_filesystems_are_not_judged():
    assert judge("tmpfs /run tmpfs rw,nobarrier 0 0\nnfs:/e /mnt nfs rw,nobarrier 0 0") == []


def test_commit_threshold_is_settable():
    assert judge("/dev/a /d ext4 rw,commit=30 0 0", max_commit=10) == [
        (Severity.WARN, "commit=30")
    ]


def test_accepted_risk_turns_ok_but_stays_visible():
    accepted = parse_accepts(["/backup:nobarrier"])
    findings = judge_mounts(
        parse_mounts("/dev/a /backup ext4 rw,nobarrier,data=writeback 0 0"), "t", accepted
    )
    assert [(f.severity, f.message, f.data.get("accepted")) for f in findings] == [
        (Severity.OK, "nobarrier (accepted risk)", True),
        (Severity.WARN, "data=writeback", None),
    ]


def test_findings_link_their_page_and_say_why():
    (finding,) = judge_mounts(parse_mounts("/dev/a /d ext4 rw,nobarrier 0 0"), "t")
    assert finding.page == "runbooks/mount-options/#barriers-off"
    assert "power cut" in finding.why


@pytest.mark.parametrize("value", ["/backup", "/backup:barrier", ":nobarrier", "nobarrier"])
def test_bad_accept_values_are_refused(value):
    with pytest.raises(UsageError, match="--accept"):
        parse_accepts([value])


def test_defaults_in_force_are_flagged_and_labelled_as_such():
    (entry,) = parse_mounts("/dev/sdb1 /data ext4 rw,relatime 0 0")
    entry = replace(entry, effective=("rw", "barrier", "errors=continue", "data=ordered",
                                      "commit=5", "block_validity"))
    (finding,) = judge_mounts([entry], "t")
    assert (finding.severity, finding.message) == (
        Severity.WARN, "errors=continue (filesystem default)"
    )
    assert finding.data["source"] == "default"


def test_effective_nobarrier_keeps_the_mount_tables_spelling():
    (entry,) = parse_mounts("/dev/a /d ext4 rw,barrier=0 0 0")
    entry = replace(entry, effective=("rw", "nobarrier", "errors=remount-ro"))
    assert [f.message for f in judge_mounts([entry], "t")] == ["barrier=0"]


def test_accept_takes_globs():
    accepted = parse_accepts(["/srv/*:errors=continue"])
    lines = "/dev/a /srv/a ext4 rw,errors=continue 0 0\n/dev/b /data ext4 rw,errors=continue 0 0"
    assert judge(lines, accepted=accepted) == [
        (Severity.OK, "errors=continue (accepted risk)"),
        (Severity.WARN, "errors=continue"),
    ]


# No false green: what the audit was asked to judge and did not find is UNKNOWN.
LAB_TABLE = parse_mounts((DATA / "proc-mounts-nas-lab.txt").read_text())


def unknowns(entries, patterns, source="/proc/mounts"):
    findings = judge_selection(entries, patterns, "t", source)
    assert all(f.severity is Severity.UNKNOWN and f.subject == "" for f in findings)
    return [f.message for f in findings]


@pytest.mark.parametrize("patterns", [[], ["/srv/nas"], ["/srv/*"], ["/srv/nas", "/srv/clean"]])
def test_a_selection_with_journaled_mounts_adds_nothing(patterns):
    assert unknowns(LAB_TABLE, patterns) == []


def test_a_mount_point_that_is_not_mounted_is_unknown_and_named():
    assert unknowns(LAB_TABLE, ["/srv/nas", "/srv/archive"]) == ["no mount at /srv/archive"]
    assert unknowns(LAB_TABLE, ["/backup/*"]) == ["no mount matches /backup/*"]


def test_a_saved_table_is_named_where_it_lacks_the_mount():
    assert unknowns(LAB_TABLE, ["/srv/archive"], "bundle/mounts") == [
        "no mount at /srv/archive in bundle/mounts"]


def test_a_selection_of_filesystems_the_rules_do_not_cover_is_unknown():
    assert unknowns(LAB_TABLE, ["/proc"]) == [
        "nothing to judge at /proc: proc (mounts.audit judges ext3, ext4 and XFS)"]
    assert unknowns(LAB_TABLE, ["/dev*"]) == [
        "nothing to judge at /dev*: devpts, mqueue, tmpfs (mounts.audit judges ext3, ext4 "
        "and XFS)"]


def test_an_empty_table_or_one_without_journaled_mounts_is_unknown():
    assert unknowns([], [], "empty.txt") == ["no mounts listed in empty.txt"]
    virtual = [e for e in LAB_TABLE if e.fstype not in ("ext4", "xfs")]
    assert unknowns(virtual, []) == [
        f"no ext3, ext4 or XFS mount among the {len(virtual)} mounts"]
