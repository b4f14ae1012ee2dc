"""The plans: for given inputs, exactly which commands a change runs and how it is undone.

mounts.fix plans from mount tables captured in the nas lab; login.trim-motd and
login.restore-motd plan and apply on this host, in a folder of this test standing in
for /etc/update-motd.d (the module's paths point there for the test; the commands
are real and really run).
"""

from __future__ import annotations

import asyncio
import io
import os
import shlex
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from runbooks.core.changes import apply_plan, print_plan, read_journal
from runbooks.core.errors import RunbookError
from runbooks.core.targets import LocalTarget
from runbooks.login import plan as login_plan
from runbooks.login.parse import parse_motd_timings
from runbooks.mounts.parse import MountEntry, parse_mounts, with_effective
from runbooks.mounts.plan import find_mount, plan_fix
from tests.helpers import DATA

NAS = with_effective(parse_mounts((DATA / "proc-mounts-nas-lab.txt").read_text()),
                     (DATA / "effective-nas-lab.txt").read_text())
HOSTILE_MP = "/srv/it's a \"nas\" $(touch /tmp/pwned);\tx\\y"


def steps(plan):
    return [(s.description, list(s.argv), None if s.undo is None else list(s.undo))
            for s in plan.steps]


def remount(mp, option):
    return ["mount", "-o", f"remount,{option}", mp]


# --- mounts.fix ---------------------------------------------------------------------


def test_nas_mount_gets_two_live_remounts_and_the_data_mode_stays_manual():
    plan = plan_fix(find_mount(NAS, "/srv/nas"), LocalTarget(), read=None)
    assert steps(plan) == [
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
    assert steps(plan) == [
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
    assert steps(plan) == [(f"turn write barriers back on for {HOSTILE_MP} (was nobarrier)",
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


# --- login.trim-motd and login.restore-motd ------------------------------------------

SCRIPTS = {  # name -> (mode, seconds the capture says it took)
    "00-header": ("755", 0.004),
    "50-it's \"slow\" $(touch pwned)": ("755", 0.433),
    "-n 60 `id`": ("750", 0.203),
    "91-disabled": ("644", None),
}


@pytest.fixture
def motd(tmp_path, monkeypatch):
    """A stand-in update-motd.d with hostile names, and the manifest's folder under it."""
    motd_dir = tmp_path / "update-motd.d"
    motd_dir.mkdir()
    for name, (mode, _) in SCRIPTS.items():
        path = motd_dir / name
        path.write_text("#!/bin/sh\ntrue\n")
        path.chmod(int(mode, 8))
    manifest_dir = tmp_path / "lib" / "breaking-point"
    manifest = f"{manifest_dir}/motd-manifest"
    monkeypatch.setattr(login_plan, "MOTD_DIR", str(motd_dir))
    monkeypatch.setattr(login_plan, "MANIFEST_DIR", str(manifest_dir))
    monkeypatch.setattr(login_plan, "MANIFEST", manifest)
    monkeypatch.setattr(login_plan, "WRITE_MANIFEST",
                        f'mkdir -p {manifest_dir} && printf "%s\\n" "$@" > {manifest}')
    monkeypatch.setenv("BP_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    timings = "".join(
        f"{mode}\t{int(seconds is not None)}\t"
        f"{'-' if seconds is None else seconds} 0.001 0.001\t{name}\n"
        for name, (mode, seconds) in SCRIPTS.items())
    return motd_dir, manifest_dir, manifest, parse_motd_timings(timings)


def modes(motd_dir: Path) -> dict[str, str]:
    return {p.name: format(stat.S_IMODE(p.stat().st_mode), "o") for p in motd_dir.iterdir()}


def apply(plan) -> str:
    out = io.StringIO()
    asyncio.run(apply_plan(plan, True, out))
    return out.getvalue()


def test_trim_plan_records_modes_once_and_undoes_each_step_exactly(motd):
    motd_dir, manifest_dir, manifest, scripts = motd
    slow, slow2 = "50-it's \"slow\" $(touch pwned)", "-n 60 `id`"
    plan = asyncio.run(login_plan.plan_trim(LocalTarget(), scripts, 0.1))
    manifest_lines = ["755\t00-header", f"755\t{slow}", f"750\t{slow2}", "644\t91-disabled"]
    assert steps(plan) == [
        (f"create {manifest_dir} for the manifest",
         ["mkdir", "-p", str(manifest_dir)], ["rmdir", str(manifest_dir)]),
        (f"record the modes of 4 update-motd.d scripts in {manifest}",
         ["sh", "-c", login_plan.WRITE_MANIFEST, "sh", *manifest_lines],
         ["rm", "-f", manifest]),
        (f"stop {slow} from running at login (0.43s)",
         ["chmod", "a-x", f"{motd_dir}/{slow}"], ["chmod", "755", f"{motd_dir}/{slow}"]),
        (f"stop {slow2} from running at login (0.20s)",
         ["chmod", "a-x", f"{motd_dir}/{slow2}"], ["chmod", "750", f"{motd_dir}/{slow2}"]),
    ]
    assert plan.manual == ["undo everything at once with: invoke login.restore-motd --apply"]

    before = modes(motd_dir)
    out = apply(plan)
    assert modes(motd_dir) == {**before, slow: "644", slow2: "640"}
    assert Path(manifest).read_text() == "".join(line + "\n" for line in manifest_lines)
    assert "recorded as change 1; undo with: invoke changes.undo 1 --apply" in out
    (entry,) = read_journal()
    assert [s["undo"] for s in entry["steps"]] == [s[2] for s in steps(plan)]
    assert sorted(p.name for p in Path.cwd().iterdir()) == ["lib", "state", "update-motd.d"]

    # a second trim keeps the first manifest: it holds the modes from before any trim
    again = asyncio.run(login_plan.plan_trim(LocalTarget(), scripts, 0.1))
    assert [s.argv[:2] for s in again.steps] == [["chmod", "a-x"], ["chmod", "a-x"]]


def test_restore_gives_back_each_changed_mode_and_removes_the_manifest(motd):
    motd_dir, manifest_dir, manifest, scripts = motd
    before = modes(motd_dir)
    apply(asyncio.run(login_plan.plan_trim(LocalTarget(), scripts, 0.1)))
    (motd_dir / "00-header").unlink()  # gone since the trim: reported, not recreated
    slow, slow2 = "50-it's \"slow\" $(touch pwned)", "-n 60 `id`"

    plan = asyncio.run(login_plan.plan_restore(LocalTarget()))
    assert steps(plan) == [
        (f"give {slow} back its mode 755",
         ["chmod", "755", f"{motd_dir}/{slow}"], ["chmod", "644", f"{motd_dir}/{slow}"]),
        (f"give {slow2} back its mode 750",
         ["chmod", "750", f"{motd_dir}/{slow2}"], ["chmod", "640", f"{motd_dir}/{slow2}"]),
        (f"remove {manifest}", ["rm", "-f", manifest], None),
    ]
    assert plan.manual == [f"{motd_dir}/00-header is gone since the trim; not recreated"]
    apply(plan)
    assert modes(motd_dir) == {k: v for k, v in before.items() if k != "00-header"}
    assert not os.path.exists(manifest) and manifest_dir.is_dir()


def test_restore_without_a_manifest_is_an_error_naming_it(motd):
    _, _, manifest, _ = motd
    with pytest.raises(RunbookError) as caught:
        asyncio.run(login_plan.plan_restore(LocalTarget("web1")))
    assert str(caught.value) == f"web1: no trim manifest ({manifest}): nothing to restore"


def test_trim_into_an_existing_manifest_folder_does_not_plan_to_remove_it(motd):
    _, manifest_dir, manifest, scripts = motd
    manifest_dir.mkdir(parents=True)
    plan = asyncio.run(login_plan.plan_trim(LocalTarget(), scripts, 0.1))
    assert [s.undo for s in plan.steps[:1]] == [["rm", "-f", manifest]]
    assert all(s.argv[0] != "mkdir" for s in plan.steps)
