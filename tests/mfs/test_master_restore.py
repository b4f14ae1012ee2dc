"""mfs.master-restore: parsing and planning on captured inspections, then the real thing.

Captures (tests/data/{moosefs,moosefs4,lizardfs}/master-restore-inspect-*.txt) are
``master-restore.sh inspect`` run on each lab's metalogger, once while the master ran
and once after it was killed. The lab tests restore on each version's metalogger.
"""

import json
import os
import time

import pytest

from runbooks.core.errors import RunbookError
from runbooks.mfs import parse, plan
from tests.helpers import DATA, run_task

LABS = {"moosefs": "mfs", "moosefs4": "mfs4", "lizardfs": "lfs"}
CONFIG = {"moosefs": "/etc/mfs", "moosefs4": "/etc/mfs", "lizardfs": "/etc/lizardfs"}
FILES = ["f 1", "it's $(touch pwned)", "new\nline"]


def captured(system: str, state: str) -> parse.Inspection:
    return parse.parse_inspect(
        (DATA / system / f"master-restore-inspect-{state}.txt").read_text(encoding="utf-8"))


# --- parsing and planning ----------------------------------------------------------------


@pytest.mark.parametrize("system", LABS)
def test_captured_inspection_is_parsed(system):
    seen = captured(system, "after-kill")
    assert parse.master_dialect(seen) == system
    assert seen.dir == ("/var/lib/lizardfs" if system == "lizardfs" else "/var/lib/mfs")
    assert seen.unresolved == ["mfsmaster"]
    assert seen.silent == [f"master:{p}" for p in (9419, 9420, 9421)] and not seen.answering
    names = [f.name for f in plan.restore_sources(seen)]
    # the package's empty template is never a source; the metalogger's files are
    assert "metadata.mfs.empty" not in names and all("_ml" in n for n in names)
    assert next(f.kind for f in plan.restore_sources(seen)) == "metadata"


def test_metalogger_files_of_each_version():
    mfs3 = {f.name: f for f in captured("moosefs", "after-kill").files}
    lfs = {f.name: f for f in captured("lizardfs", "after-kill").files}
    # MooseFS keeps an empty filesystem's header until the master's first metadata dump
    assert mfs3["metadata_ml.tmp"].header == "MFSM NEW"
    assert "empty filesystem" in mfs3["metadata_ml.tmp"].line()
    assert (mfs3["changelog_ml.0.mfs"].first, mfs3["changelog_ml.0.mfs"].last) == (2, 30)
    assert mfs3["changelog_ml_back.1.mfs"].first is None
    assert "changelog, empty" in mfs3["changelog_ml_back.1.mfs"].line()
    # LizardFS's metalogger has a real metadata file at once
    assert lfs["metadata_ml.mfs"].header == "LIZM 2.9"
    assert lfs["sessions_ml.mfs"].kind == "other"


@pytest.mark.parametrize("system", LABS)
def test_live_master_is_refused_first(system):
    seen = captured(system, "live-master")
    (reason,) = plan.restore_refusals(seen, system, seen.dir)
    assert reason.startswith("a master answers on master:9419, master:9420, master:9421")


def test_local_master_is_refused():
    seen = captured("moosefs", "after-kill")
    seen.local_masters = ["51"]
    assert plan.restore_refusals(seen, "moosefs", seen.dir)[0].startswith(
        "an mfsmaster already runs here (pid 51)")


@pytest.mark.parametrize("system", LABS)
def test_missing_configuration_is_refused_and_present_is_not(system):
    seen = captured(system, "after-kill")
    (reason,) = plan.restore_refusals(seen, system, seen.dir)
    assert reason.startswith("no master configuration here (mfsmaster.cfg, mfsexports.cfg in "
                             f"{CONFIG[system]})")
    seen.configs = [f"{CONFIG[system]}/mfsmaster.cfg", f"{CONFIG[system]}/mfsexports.cfg"]
    assert plan.restore_refusals(seen, system, seen.dir) == []


def test_nothing_to_restore_from_says_where_it_looked():
    seen = captured("moosefs4", "after-kill")
    seen.configs = ["/etc/mfs/mfsmaster.cfg", "/etc/mfs/mfsexports.cfg"]
    seen.files = [f for f in seen.files if f.kind != "metadata"]
    assert plan.restore_refusals(seen, "moosefs4", "/var/lib/mfs") == [
        "no metadata file (metadata*.mfs*) in /var/lib/mfs: nothing to restore from (a "
        "metalogger downloads one when it connects)"]
    seen.dir_missing = True
    assert plan.restore_refusals(seen, "moosefs4", "/srv/x")[0] == (
        "no metadata folder /srv/x: nothing to restore from")


def test_a_folder_the_master_does_not_read_is_refused():
    seen = captured("moosefs", "after-kill")
    seen.configs = ["/etc/mfs/mfsmaster.cfg", "/etc/mfs/mfsexports.cfg"]
    assert plan.restore_refusals(seen, "moosefs", "/backup/mfs")[-1].startswith(
        "mfsmaster reads its metadata from /var/lib/mfs (DATA_PATH), not from /backup/mfs")
    seen.data_path = "/backup/mfs"
    assert plan.restore_refusals(seen, "moosefs", "/backup/mfs/") == []


def test_unresolvable_master_is_unknown_not_green():
    seen = captured("moosefs", "after-kill")
    seen.silent, seen.unresolved = [], ["mfsmaster", "master"]
    assert "does not resolve here; give --master HOST" in plan.restore_refusals(
        seen, "moosefs", seen.dir)[0]


def test_each_version_restores_with_its_own_tool():
    assert plan.restore_argv("moosefs", "/var/lib/mfs") == ["mfsmaster", "-a"]
    assert plan.restore_argv("moosefs4", "/var/lib/mfs") == ["mfsmaster", "-a"]
    assert plan.restore_argv("lizardfs", "/d i r") == ["mfsmetarestore", "-a", "-d", "/d i r"]
    text = plan.restore_preview("lizardfs", "/d i r", "/d i r/before-restore-X")
    assert text.startswith("restore: mfsmetarestore -a -d '/d i r' && mfsmaster start\n")


def test_dialect_from_version_lines():
    def seen(version, etc="/etc/mfs"):
        return parse.Inspection(etc=etc, version=version)

    assert parse.master_dialect(seen("version: 3.0.117-1 ; build: 1341")) == "moosefs"
    assert parse.master_dialect(seen("version: 4.59.2-1 ; build: 2106")) == "moosefs4"
    assert parse.master_dialect(seen("version: 3.13.0-devel", "/etc/lizardfs")) == "lizardfs"
    with pytest.raises(RunbookError, match="mfsmaster is not installed here"):
        parse.master_dialect(seen(""))
    with pytest.raises(RunbookError, match="unknown dialect 'x'"):
        parse.master_dialect(seen("version: 4.59.2-1 ; build: 2106"), "x")


# --- the real thing, on each version's metalogger ----------------------------------------


def invoke(*args, state=None):
    env = dict(os.environ, BP_STATE_DIR=str(state)) if state else None
    return run_task("mfs.master-restore", *args, env=env, timeout=300)


def sh(container, script):
    code, out = container.exec_run(["sh", "-c", script])
    return code, out.decode("utf-8", "replace")


def folder_listing(container, system):
    """The folder's names: the metalogger keeps appending to its changelog meanwhile."""
    folder = "/var/lib/lizardfs" if system == "lizardfs" else "/var/lib/mfs"
    return sh(container, f"ls -A {folder}")[1]


@pytest.fixture(scope="module", params=list(LABS))
def cluster(request, lab):
    system = request.param
    facts = lab.up(system)
    client = lab.container(facts["client"])
    script = ("import os\nos.makedirs('/mnt/mfs/d', exist_ok=True)\n"
              f"for name in {FILES!r}:\n"
              "    open('/mnt/mfs/d/' + name, 'w').write(name)\n")
    code, out = client.exec_run(["python3", "-c", script])
    assert code == 0, out
    yield system, facts, client, lab.container(facts["metalogger"]), lab.container(facts["master"])
    lab.remove_prefix(facts["prefix"])


@pytest.mark.lab
def test_refuses_with_a_live_master_and_changes_nothing(cluster):
    system, facts, _, metalogger, _old = cluster
    before = folder_listing(metalogger, system)
    proc = invoke("--container", facts["metalogger"], "--apply")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "REFUSED: a master answers on master:9419" in proc.stdout
    assert folder_listing(metalogger, system) == before
    assert sh(metalogger, "pgrep -x mfsmaster")[0] != 0
    # on the master's own host: the process itself is the refusal
    proc = invoke("--container", facts["master"], "--apply")
    assert proc.returncode == 2 and "REFUSED: an mfsmaster already runs here" in proc.stdout


@pytest.mark.lab
def test_hostile_data_dir_is_data(cluster):
    system, facts, _, metalogger, _ = cluster
    folder = "/var/lib/lizardfs" if system == "lizardfs" else "/var/lib/mfs"
    hostile = "/tmp/x'; touch /tmp/pwned; echo \"$(touch /tmp/pwned2)\nanswers=no:1 `id`"
    proc = invoke("--container", facts["metalogger"], "--data-dir", hostile)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    # the name is data: quoted where it is shown, never read back as a live master
    assert "live master: master:9419, master:9420, master:9421\n" in proc.stdout
    assert "answers=no:1" not in proc.stdout.replace("\\nanswers=no:1", "")
    # the same folder, holding a metadata file: listed from there
    code, out = metalogger.exec_run(["mkdir", "-p", hostile])
    assert code == 0, out
    code, out = metalogger.exec_run(["cp", f"{folder}/metadata.mfs.empty",
                                     f"{hostile}/metadata.mfs.back"])
    assert code == 0, out
    proc = invoke("--container", facts["metalogger"], "--data-dir", hostile)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "files a restore would use (1):\n  metadata.mfs.back: master metadata" in proc.stdout
    assert sh(metalogger, "ls /tmp/pwned /tmp/pwned2 /pwned")[0] != 0


@pytest.mark.lab
def test_restore_on_the_metalogger_brings_the_files_back(cluster, tmp_path):
    system, facts, client, metalogger, old = cluster
    time.sleep(2)  # the metalogger receives changes as they happen; give the last a moment
    old.exec_run(["pkill", "-9", "-x", "mfsmaster"])
    etc = CONFIG[system]
    # the old master's configuration, as from its backup
    for name in ("mfsmaster.cfg", "mfsexports.cfg"):
        code, text = sh(old, f"cat {etc}/{name}")
        assert code == 0, text
        metalogger.put_archive(etc, _tar(name, text))
    dry = invoke("--container", facts["metalogger"], state=tmp_path)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "dry run: nothing changed" in dry.stdout
    assert sh(metalogger, "pgrep -x mfsmaster")[0] != 0
    proc = invoke("--container", facts["metalogger"], "--apply", state=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "the master answers on 127.0.0.1:9421" in proc.stdout
    mount = ("mfsmount3 -o mfsmaster=metalogger /mnt/restored" if system == "lizardfs"
             else "mfsmount -H metalogger /mnt/restored")
    code, out = sh(client, f"mkdir -p /mnt/restored && {mount} >/dev/null 2>&1 && "
                           "python3 -c \"import os; print(repr(sorted(os.listdir("
                           "'/mnt/restored/d'))))\"; umount /mnt/restored")
    assert code == 0 and out.strip() == repr(sorted(FILES)), out
    journal = [json.loads(line) for line in (tmp_path / "changes.jsonl").read_text().splitlines()]
    (entry,) = journal
    assert entry["runbook"] == "mfs.master-restore" and entry["steps"][0]["undo"]
    undo = run_task("changes.undo", str(entry["id"]), "--apply",
                    env=dict(os.environ, BP_STATE_DIR=str(tmp_path)), timeout=120)
    assert undo.returncode == 0, undo.stdout + undo.stderr
    assert sh(metalogger, "pgrep -x mfsmaster")[0] != 0


def _tar(name: str, text: str) -> bytes:
    import io
    import tarfile

    data = text.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
