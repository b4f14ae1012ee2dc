"""mounts.audit and mounts.fix against a real ext4 loop mount in a lab container."""

import json

import pytest

from tests.helpers import run_task

HOSTILE = "/srv/it's a \"nas\" $(touch /tmp/pwned); `touch /tmp/pwned2`"

pytestmark = pytest.mark.lab


@pytest.fixture
def nas(lab):
    facts = lab.up("nas")
    yield facts["container"], lab.container(facts["container"])
    lab.remove(facts["container"])


def exec_ok(container, *argv):
    code, out = container.exec_run(list(argv))
    assert code == 0, out.decode()
    return out.decode()


def test_unsafe_mount_is_critical_and_named(nas):
    name, _ = nas
    proc = run_task("mounts.audit", "--container", name, "--mount-point", "/srv/*",
                    "--format", "nagios")
    assert proc.returncode == 2, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith(
        "MOUNTS CRITICAL - /srv/nas: nobarrier, data=writeback, errors=continue (filesystem "
        "default) |"
    )
    assert "/srv/clean" not in first


def test_json_one_finding_per_problem(nas):
    name, _ = nas
    proc = run_task("mounts.audit", "--container", name, "--mount-point", "/srv/*",
                    "--format", "json")
    doc = json.loads(proc.stdout)
    problems = [(f["subject"], f["data"]["option"], f["severity"], f["data"]["source"])
                for f in doc["findings"] if f["severity"] != "OK"]
    assert problems == [
        ("/srv/nas", "nobarrier", "CRIT", "mount table"),
        ("/srv/nas", "data=writeback", "WARN", "mount table"),
        ("/srv/nas", "errors=continue", "WARN", "default"),
    ]
    assert "/srv/clean" in {f["subject"] for f in doc["findings"]}
    assert proc.returncode == 2


def test_clean_mounts_exit_zero(nas):
    name, container = nas
    exec_ok(container, "umount", "/srv/nas")
    proc = run_task("mounts.audit", "--container", name, "--mount-point", "/srv/*",
                    "--format", "nagios")
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.startswith("MOUNTS OK - ")


def test_an_unmounted_volume_is_unknown_not_ok(nas):
    # No false green: the NAS volume did not come up, its mount point is an empty folder.
    name, container = nas
    exec_ok(container, "umount", "/srv/nas")
    proc = run_task("mounts.audit", "--container", name, "--mount-point", "/srv/nas",
                    "--format", "nagios")
    assert proc.returncode == 3, proc.stdout
    assert proc.stdout.splitlines() == [
        "MOUNTS UNKNOWN - no mount at /srv/nas | targets=1 unreachable=0 mounts=0",
        f"[UNKNOWN] {name}: no mount at /srv/nas",
    ]
    fix = run_task("mounts.fix", "/srv/nas", "--container", name)
    assert fix.returncode == 3
    assert fix.stderr.strip() == "error: '/srv/nas' is not a mount point"


def test_missing_container_is_unknown_with_one_line():
    proc = run_task("mounts.audit", "--container", "bp-no-such-container", "--format", "nagios")
    assert proc.returncode == 3
    assert proc.stderr.strip() == "error: bp-no-such-container: no such container"


def test_hostile_mount_point_reported_and_fixed_without_running_anything(nas, tmp_path):
    name, container = nas
    exec_ok(container, "mkdir", "-p", HOSTILE)
    exec_ok(container, "truncate", "-s", "32M", "/srv/hostile.img")
    exec_ok(container, "mkfs.ext4", "-q", "-F", "/srv/hostile.img")
    exec_ok(container, "mount", "-o", "loop,barrier=0", "/srv/hostile.img", HOSTILE)

    doc = json.loads(run_task("mounts.audit", "--container", name, "--format", "json").stdout)
    assert (HOSTILE, "nobarrier") in {
        (f["subject"], f["data"].get("option")) for f in doc["findings"]
    }

    env = {"BP_STATE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    applied = run_task("mounts.fix", HOSTILE, "--container", name, "--apply", env=env)
    assert applied.returncode == 0, applied.stderr
    assert f"done: turn write barriers back on for {HOSTILE} (was nobarrier)" in applied.stdout
    mounts = exec_ok(container, "cat", "/proc/mounts")
    hostile_line = next(line for line in mounts.splitlines() if "hostile" in line
                        or "it's" in line)
    assert "nobarrier" not in hostile_line
    code, _ = container.exec_run(["sh", "-c", "ls /tmp/pwned* 2>/dev/null"])
    assert code != 0, "a hostile mount point name ran a command"

    (record,) = host_records(container)  # the name went over as data, and came back
    assert record["steps"][0]["argv"] == ["mount", "-o", "remount,barrier=1", HOSTILE]

    undone = run_task("changes.undo", "1", "--apply", env=env)
    assert undone.returncode == 0, undone.stderr
    assert "nobarrier" in exec_ok(container, "grep", "it's", "/proc/mounts")
    assert host_records(container)[1]["undoes"] == record["id"]
    listing = run_task("changes.list", "--container", name, env=env)
    assert f"  - turn write barriers back on for {HOSTILE} (was nobarrier)" in listing.stdout
    assert "done; undone " in listing.stdout


RECORD = "/var/log/breaking-point/changes.jsonl"


def host_records(container):
    return [json.loads(line) for line in exec_ok(container, "cat", RECORD).splitlines()]


def nas_options(container):
    return next(line.split()[3] for line in exec_ok(container, "cat", "/proc/mounts")
                .splitlines() if line.split()[1] == "/srv/nas")


def test_a_fix_is_recorded_on_the_host_and_undone_from_there_without_a_journal(nas, tmp_path):
    name, container = nas
    before = nas_options(container)
    made_here = {"BP_STATE_DIR": str(tmp_path / "here"), "PATH": "/usr/bin:/bin"}
    applied = run_task("mounts.fix", "/srv/nas", "--container", name, "--apply", env=made_here)
    assert applied.returncode == 0, applied.stderr
    assert nas_options(container) != before
    (record,) = host_records(container)
    assert (record["runbook"], record["state"], record["target"]) == ("mounts.fix", "done", name)
    assert record["steps"][0]["undo"][:3] == ["mount", "-o", "remount,barrier=0"]
    assert exec_ok(container, "stat", "-c", "%a", RECORD, RECORD.rsplit("/", 1)[0]) \
        .split() == ["600", "700"]

    # Another machine: no journal at all, only the host's own record.
    elsewhere = {"BP_STATE_DIR": str(tmp_path / "elsewhere"), "PATH": "/usr/bin:/bin"}
    listing = run_task("changes.list", "--container", name, env=elsewhere)
    assert listing.returncode == 0, listing.stderr
    assert f"  {record['time']}  mounts.fix  done" in listing.stdout
    assert (f"undo with: invoke changes.undo {record['id']} --container {name} --apply"
            in listing.stdout)
    dry = run_task("changes.undo", record["id"], "--container", name, env=elsewhere)
    assert dry.returncode == 0, dry.stderr
    assert "dry run: nothing changed" in dry.stdout and nas_options(container) != before
    undone = run_task("changes.undo", "last", "--container", name, "--apply", env=elsewhere)
    assert undone.returncode == 0, undone.stderr
    assert nas_options(container) == before

    kept, undo = host_records(container)
    assert kept == record
    assert (undo["undoes"], undo["state"]) == (record["id"], "done")
    again = run_task("changes.undo", record["id"], "--container", name, "--apply",
                     env=elsewhere)
    assert again.returncode == 3 and again.stderr.count("\n") == 1
    assert f"record {record['id']} (mounts.fix) cannot be undone: already undone" in again.stderr
    # ... and the machine that made the change learns it from the host, too.
    stale = run_task("changes.undo", "1", "--apply", env=made_here)
    assert stale.returncode == 3 and "change 1 was undone on" in stale.stderr
    assert nas_options(container) == before


def test_a_pool_growth_on_the_host_record_says_it_has_no_undo(nas, tmp_path, monkeypatch):
    """lvm.extend-pool's step as the host records it (the nas lab has no volume group:
    the same step runs `true` instead of lvextend): refused, in one line, with why."""
    import asyncio

    from runbooks.core.changes import Plan, Step, apply_plan
    from runbooks.core.targets import ContainerTarget
    from runbooks.lvm.plan import IRREVERSIBLE

    name, container = nas
    plan = Plan("lvm.extend-pool", ContainerTarget(name))
    plan.add(Step(f"grow vg/pool data from 1.0 GiB to 2.0 GiB ({IRREVERSIBLE})",
                  ["true", "lvextend", "-L", "+1G", "vg/pool"], None))
    monkeypatch.setenv("BP_STATE_DIR", str(tmp_path / "applied"))
    asyncio.run(apply_plan(plan, True))
    (record,) = host_records(container)
    assert record["steps"][0]["undo"] is None
    env = {"BP_STATE_DIR": str(tmp_path / "elsewhere"), "PATH": "/usr/bin:/bin"}
    listing = run_task("changes.list", "--container", name, env=env).stdout
    assert "        undo: none" in listing and "undo with:" not in listing
    refused = run_task("changes.undo", "last", "--container", name, "--apply", env=env)
    assert refused.returncode == 3, refused.stdout
    assert refused.stderr == (
        f"error: {name}: record {record['id']} (lvm.extend-pool) cannot be undone: no step "
        "has an undo: grow vg/pool data from 1.0 GiB to 2.0 GiB (no undo: thin pools cannot "
        "be shrunk)\n")
