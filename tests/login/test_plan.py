"""login.trim-motd and login.restore-motd plans, applied on this host in a folder of this
test that stands in for /etc/update-motd.d (the module's paths point there for the test;
the commands are real and really run)."""

from __future__ import annotations

import asyncio
import io
import os
import stat
from pathlib import Path

import pytest

from runbooks.core.changes import apply_plan, read_journal
from runbooks.core.errors import RunbookError
from runbooks.core.targets import LocalTarget
from runbooks.login import plan as login_plan
from runbooks.login.parse import parse_motd_timings
from tests.helpers import plan_steps

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
    monkeypatch.setenv("BP_HOST_RECORD", str(tmp_path / "state" / "host" / "changes.jsonl"))
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
    assert plan_steps(plan) == [
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
    assert [s["undo"] for s in entry["steps"]] == [s[2] for s in plan_steps(plan)]
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
    assert plan_steps(plan) == [
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
