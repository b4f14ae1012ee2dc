"""mounts.fix plans: for mount tables captured in the nas lab, exactly which remounts run
and how each is undone."""


from __future__ import annotations

import asyncio
import io
import shlex
from dataclasses import replace

import pytest

from runbooks.core.changes import print_plan
from runbooks.core.errors import RunbookError
from runbooks.core.targets import LocalTarget
from runbooks.mounts.parse import MountEntry, parse_mounts, with_effective
from runbooks.mounts.plan import find_mount, plan_fix
from tests.helpers import DATA, plan_steps

NAS = with_effective(parse_mounts((DATA / "proc-mounts-nas-lab.txt").read_text()),
                     (DATA / "effective-nas-lab.txt").read_text())
HOSTILE_MP = "/srv/it's a \"nas\" $(touch /tmp/pwned);\tx\\y"



def remount(mp, option):
    return ["mount", "-o", f"remount,{option}", mp]


# --- mounts.fix ---------------------------------------------------------------------


def test_nas_mount_gets_two_live_remounts_and_the_data_mode_stays_manual():
    plan = plan_fix(find_mount(NAS, "/srv/nas"), LocalTarget(), read=None)
    assert plan_steps(plan) == [
        ("turn write barriers back on for /srv/nas (was nobarrier)",
         remount("/srv/nas", "barrier=1"), remount("/srv/nas", "barrier=0")),
        # errors=continue is the kernel's default here: only the effective list shows it
        ("make /srv/nas go read-only when corruption is detected (was errors=continue)",
         remount("/srv/nas", "errors=remount-ro"), remount("/srv/nas", "errors=continue")),
    ]
    assert plan.manual == [
        "/srv/nas: data=writeback cannot be changed while mounted; in a maintenance window "
        "unmount it and mount it with data=ordered, and check that neither /etc/fstab nor the "
        "superblock (tune2fs -l /dev/loop0 | grep 'mount options') brings it back",
        "/srv/nas: a remount lasts until the next mount; fix /etc/fstab (or the NAS "
        "firmware's settings, or the superblock default with tune2fs) to make it permanent",
    ]


def test_a_clean_mount_plans_nothing():
    plan = plan_fix(find_mount(NAS, "/srv/clean"), LocalTarget(), read=None)
    assert (plan.steps, plan.manual) == ([], [])


def test_commit_and_block_validity_are_undone_to_their_old_values():
    entry = MountEntry("/dev/sdb1", "/data", "ext4",
                       ("rw", "barrier=0", "noblock_validity", "commit=600"))
    plan = plan_fix(entry, LocalTarget(), read=None, max_commit=60)
    assert plan_steps(plan) == [
        ("turn write barriers back on for /data (was barrier=0)",
         remount("/data", "barrier=1"), remount("/data", "barrier=0")),
        ("check allocations against metadata on /data (was noblock_validity)",
         remount("/data", "block_validity"), remount("/data", "noblock_validity")),
        ("commit the journal of /data every 5 s (was commit=600)",
         remount("/data", "commit=5"), remount("/data", "commit=600")),
    ]
    # a longer allowed interval leaves commit=600 alone
    relaxed = plan_fix(entry, LocalTarget(), read=None, max_commit=600)
    assert [s.argv[2] for s in relaxed.steps] == ["remount,barrier=1", "remount,block_validity"]


def test_xfs_nobarrier_is_manual_only():
    entry = MountEntry("/dev/sdc", "/xfs", "xfs", ("rw", "nobarrier"))
    plan = plan_fix(entry, LocalTarget(), read=None)
    assert plan.steps == []
    assert plan.manual == ["/xfs: XFS nobarrier only works on kernels before 4.19; remove it "
                           "from /etc/fstab and plan the kernel upgrade (barriers cannot be "
                           "switched live)"]


@pytest.mark.parametrize("fstype", ["vfat", "btrfs", "nfs4", "overlay"])
def test_a_filesystem_the_rules_never_judge_is_an_error_not_nothing_to_do(fstype):
    entry = MountEntry("srv:/x", "/mnt/x", fstype, ("rw", "nobarrier"))
    with pytest.raises(RunbookError) as caught:
        plan_fix(entry, LocalTarget(), read=None)
    assert str(caught.value) == (f"'/mnt/x' is {fstype}: mounts.fix only judges and changes "
                                 "ext3, ext4 and XFS mounts")


def test_hostile_mount_point_is_one_argument_and_printed_quoted():
    (entry,) = parse_mounts((DATA / "proc-mounts-hostile.txt").read_text())
    assert entry.mount_point == HOSTILE_MP  # octal escapes decoded: space, tab, backslash
    plan = plan_fix(entry, LocalTarget("nas1"), read=None)
    assert plan_steps(plan) == [(f"turn write barriers back on for {HOSTILE_MP} (was nobarrier)",
                            remount(HOSTILE_MP, "barrier=1"), remount(HOSTILE_MP, "barrier=0"))]
    out = io.StringIO()
    print_plan(plan, out)
    lines = out.getvalue().splitlines()
    assert lines[1] == "   run:  mount -o remount,barrier=1 " + shlex.quote(HOSTILE_MP)
    assert lines[2] == "   undo: mount -o remount,barrier=0 " + shlex.quote(HOSTILE_MP)
    # what is printed for copying into a shell gives back exactly the argv
    assert shlex.split(lines[1].split("run:", 1)[1]) == remount(HOSTILE_MP, "barrier=1")


def test_a_step_is_verified_by_judging_the_mount_again():
    entry = find_mount(NAS, "/srv/nas")
    tables = {"fixed": [replace(entry, options=("rw", "relatime", "barrier", "data=writeback"),
                                effective=None)],
              "unchanged": [entry], "gone": []}
    seen = {}

    async def read(target):
        return tables[seen["table"]]

    plan = plan_fix(entry, LocalTarget(), read=read)
    barrier = plan.steps[0].verify

    def verdict(table):
        seen["table"] = table
        return asyncio.run(barrier(LocalTarget()))

    assert verdict("fixed") is True
    assert verdict("unchanged") is False
    with pytest.raises(RunbookError, match=r"^'/srv/nas' is not a mount point$"):
        verdict("gone")


def test_find_mount_takes_the_topmost_of_stacked_mounts():
    lower = MountEntry("/dev/a", "/srv", "ext4", ("rw",), line=1)
    upper = MountEntry("/dev/b", "/srv", "xfs", ("rw",), line=2)
    assert find_mount([lower, upper], "/srv") is upper
