"""Experiments: break the lab on purpose and write down what happened, as data.

Each experiment follows the ChaosToolkit shape: a steady-state check before,
a method (inject faults, observe), a rollback that heals everything, and a
journal of timestamped steps. The result is a JSON document with the date,
the software versions and the lab configuration, written to
docs/data/experiments/NAME.json; the tolerance pages are rendered from it.
Results are reported as measured, including when they contradict a story.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import engine, faults, topologies
from .engine import exec_checked

DATA_DIR = engine.REPO_ROOT / "docs" / "data" / "experiments"
MFS_ROLES = topologies.CHUNKSERVERS


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Run:
    """The context of one experiment run: its lab, its journal, its results."""

    name: str
    facts: dict[str, Any]
    cl: Any
    journal: list[dict[str, Any]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def log(self, phase: str, action: str, **observed: Any) -> None:
        entry = {"t": round(time.monotonic() - self.started, 2), "phase": phase,
                 "action": action, **observed}
        self.journal.append(entry)
        engine.log(f"{self.name} [{phase}] {action}"
                   + (f" {json.dumps(observed, sort_keys=True)}" if observed else ""))

    def node(self, role: str) -> Any:
        return self.cl.containers.get(topologies.mfs_container(self.facts["prefix"], role))

    def sh(self, script: str, timeout: int = 600) -> str:
        """Run a shell script in the client; raise with its output if it fails."""
        code, out = self.node("client").exec_run(["timeout", str(timeout), "sh", "-c", script])
        text = out.decode("utf-8", "replace")
        if code != 0:
            raise engine.LabError(f"{self.name}: client script failed ({code}): {text[-300:]}")
        return text

    def classes(self) -> dict[str, int]:
        from ..mfs.parse import parse_mfscli

        out = self.sh("mfscli -H master -n -p -SIC")
        return parse_mfscli(out).classes

    def checkfile(self, paths: list[str]) -> dict[str, Any]:
        from ..mfs.parse import parse_checkfile

        script = "mfscheckfile \"$@\"; exit 0"
        _, out = self.node("client").exec_run(["sh", "-c", script, "sh", *paths])
        return parse_checkfile(out.decode("utf-8", "replace"), paths)

    def relab(self) -> None:
        """Replace this run's lab with a fresh one (same names)."""
        self.facts.update(topologies.up("moosefs", prefix=self.facts["prefix"]))
        self.log("steady-state", "fresh lab")

    def inject(self, role: str, kind: str) -> None:
        self.log("method", f"inject {kind} into {role}",
                 result=faults.inject(self.node(role), kind))

    def heal_all(self) -> None:
        for role in ("master", *MFS_ROLES, "client"):
            for done in faults.heal(self.node(role)):
                self.log("rollback", f"{role}: {done}")


def versions(run: Run) -> dict[str, str]:
    client = run.node("client")
    _, pkg = client.exec_run(["dpkg-query", "-W", "-f", "${Version}", "moosefs-master"])
    _, kernel = client.exec_run(["uname", "-r"])
    return {"moosefs": pkg.decode().strip(), "kernel": kernel.decode().strip(),
            "docker": run.cl.version().get("Version", "?"), "python": platform.python_version()}


def write_files(run: Run, directory: str, count: int, size: int, goal: int) -> dict[str, str]:
    """Create ``count`` random files of ``size`` bytes at ``goal``; returns path -> sha256."""
    run.sh(f"mkdir -p {directory} && mfssetgoal -r {goal} {directory} >/dev/null")
    out = run.sh(
        f"cd {directory} && for i in $(seq 1 {count}); do head -c {size} /dev/urandom > f$i; "
        f"done && sync && sha256sum f*"
    )
    sums = {}
    for line in out.splitlines():
        digest, name = line.split()
        sums[f"{directory}/{name}"] = digest
    return sums


# --- (a) servers lost versus copies left and readability -----------------------------------

def copies_histogram(checks: dict[str, Any]) -> dict[str, int]:
    """Chunks per number of valid copies, over all files."""
    histogram: dict[str, int] = {}
    for check in checks.values():
        for copies, count in getattr(check, "copies", {}).items():
            histogram[str(copies)] = histogram.get(str(copies), 0) + count
    return dict(sorted(histogram.items()))


def servers_lost(run: Run) -> dict[str, Any]:
    """Goals 1-3, each on a fresh cluster: stop 0..3 of 4 chunkservers, count copies left."""
    results = []
    for goal in (1, 2, 3):
        run.relab()
        directory = f"/mnt/mfs/goal{goal}"
        sums = write_files(run, directory, 40, 200_000, goal)
        run.log("steady-state", f"goal {goal}: 40 one-chunk files on a fresh cluster",
                copies=copies_histogram(run.checkfile(list(sums))))
        for lost in range(0, 4):
            for role in MFS_ROLES[:lost]:
                if "stop" not in faults.active(run.node(role)):
                    run.inject(role, "stop")
            checks = run.checkfile(list(sums))
            zero = [p for p, c in checks.items() if c.copies.get(0)]
            readable = [p for p in sums if p not in zero]
            # Reading a lost chunk blocks in the client's retries: read only the rest,
            # and check that what is read is what was written.
            good = 0
            if readable:
                out = run.sh("sha256sum " + " ".join(readable), timeout=300)
                good = sum(1 for line in out.splitlines()
                           if sums.get(line.split()[1]) == line.split()[0])
            row = {"goal": goal, "servers_lost": lost, "files": len(sums),
                   "chunks_by_valid_copies": copies_histogram(checks),
                   "files_with_0_copy_chunks": len(zero), "files_read_intact": good}
            results.append(row)
            run.log("method", f"goal {goal}, {lost} of 4 stopped", **row)
        run.heal_all()
    return {"rows": results, "files_per_goal": 40, "file_size": 200_000,
            "fault": "graceful stop (mfschunkserver stop) of cs1..csK, fresh cluster per goal"}


# --- (b) time to restore goal after losing one server ---------------------------------------

def below_goal(run: Run, paths: list[str], goal: int) -> int:
    checks = run.checkfile(paths)
    return sum(count for check in checks.values() for copies, count in check.copies.items()
               if copies < goal)


def restore_goal(run: Run) -> dict[str, Any]:
    """300 one-chunk files at goal 2; one chunkserver killed vs stopped: time back to goal.

    Tracked two ways: per file (mfscheckfile, what mfs.audit sees) and the master's
    chunk matrix (mfscli -SIC), because they disagree for a server in maintenance.
    """
    outcomes = {}
    for kind, limit in (("kill", 600), ("stop", 120)):
        run.relab()  # each way of losing cs4 starts from a fresh, balanced cluster
        paths = list(write_files(run, "/mnt/mfs/b", 300, 100_000, 2))
        run.log("steady-state", "300 chunks at goal 2")
        start = time.monotonic()
        run.inject("cs4", kind)
        series = []
        restored_at = None
        while time.monotonic() - start < limit:
            elapsed = round(time.monotonic() - start, 1)
            files_view = below_goal(run, paths, 2)
            master = run.classes()
            series.append({"s": elapsed, "chunks_below_goal": files_view,
                           "master_endangered": master.get("endangered", 0),
                           "master_undergoal": master.get("undergoal", 0)})
            seen_below = any(row["chunks_below_goal"] for row in series)
            if files_view == 0 and (seen_below or elapsed > 10):
                restored_at = elapsed
                break
            time.sleep(0.5)
        peak = max(row["chunks_below_goal"] for row in series)
        master_peak = max(row["master_endangered"] + row["master_undergoal"] for row in series)
        outcomes[kind] = {"restored": restored_at is not None, "seconds": restored_at,
                          "ever_below_goal": peak > 0,
                          "observed_for_s": round(time.monotonic() - start, 1),
                          "chunks_below_goal_peak": peak,
                          "master_reported_peak": master_peak,
                          "series": series[:: max(1, len(series) // 40)]}
        run.log("method", f"cs4 {kind}", restored_after_s=restored_at, peak=peak,
                master_peak=master_peak)
        run.heal_all()
    return {"chunks": 300, "goal": 2, "outcomes": outcomes,
            "master_config": {"CHUNKS_LOOP_MIN_TIME": "300 (default)",
                              "REPLICATIONS_DELAY_INIT": "0 (lab)",
                              "CS_TEMP_MAINTENANCE_MODE_TIMEOUT": "1800 (default)"}}


# --- (c) first-packet drop on one node during writes ----------------------------------------

def _dropped(run: Run) -> int:
    script = "iptables -L BP_FAULT -n -v -x | awk '$3 == \"DROP\" {s += $1} END {print s+0}'"
    _, out = run.node("cs4").exec_run(["sh", "-c", script])
    return int(out.decode().strip() or 0)


def _timed_writes(run: Run, directory: str, count: int) -> tuple[dict[str, str], list[float]]:
    """Write files one by one (each closed and synced); returns sums and per-file seconds."""
    run.sh(f"mkdir -p {directory} && mfssetgoal -r 3 {directory} >/dev/null")
    out = run.sh(
        f"cd {directory} && for i in $(seq 1 {count}); do s=$(date +%s.%N); "
        f"head -c 100000 /dev/urandom > f$i && sync f$i; e=$(date +%s.%N); "
        f"echo \"t $s $e\"; done; sha256sum f*", timeout=900)
    times, sums = [], {}
    for line in out.splitlines():
        parts = line.split()
        if parts[0] == "t":
            times.append(round(float(parts[2]) - float(parts[1]), 3))
        else:
            sums[f"{directory}/{parts[1]}"] = parts[0]
    return sums, times


def _phase(run: Run, label: str, directory: str) -> dict[str, Any]:
    before = _dropped(run) if "first-packet-drop" in faults.active(run.node("cs4")) else 0
    sums, times = _timed_writes(run, directory, 60)
    dropped = (_dropped(run) - before) if "first-packet-drop" in faults.active(
        run.node("cs4")) else 0
    checks = run.checkfile(list(sums))
    read = run.sh("sha256sum " + " ".join(sums), timeout=600)
    intact = sum(1 for line in read.splitlines() if sums.get(line.split()[1]) == line.split()[0])
    wrong = run.sh(f"mfsfileinfo {directory}/* | grep -c 'WRONG VERSION' || true")
    result = {"files": len(sums), "seconds_total": round(sum(times), 2),
              "seconds_per_file_max": max(times), "files_slower_than_0_5s":
              sum(1 for t in times if t > 0.5), "packets_dropped": dropped,
              "chunks_by_valid_copies": copies_histogram(checks),
              "wrong_version_copies": int(wrong.strip() or 0), "files_read_intact": intact}
    run.log("method", label, **result)
    return result


RESTARTS = 5  # registration times vary a lot from one restart to the next


def _restart_cs4(run: Run) -> float:
    """Kill and restart cs4's daemon; seconds until the master lists it with its space.

    A SIGKILL, not a clean stop: a cleanly stopped server enters temporary
    maintenance and gets no new chunks, which would hide the effect.
    """
    exec_checked(run.node("cs4"), ["sh", "-c", "pkill -KILL -x mfschunkserver; "
                                               "while pgrep -x mfschunkserver; do sleep 0.1; "
                                               "done"], "kill cs4")
    time.sleep(1)  # let the master notice it is gone
    start = time.monotonic()
    exec_checked(run.node("cs4"), ["mfs-role", "chunkserver"], "start cs4")
    for _ in range(240):
        if topologies.registered_chunkservers(run.node("client")) == 4:
            break
        time.sleep(0.25)
    return round(time.monotonic() - start, 1)


def first_packet_drop(run: Run) -> dict[str, Any]:
    """Goal-3 writes while cs4 drops the first packet of every new connection.

    Established connections are untouched by such a bug, so the second phase
    restarts cs4's daemon and remounts the client: every connection to cs4 is
    then new and loses its first packet.
    """
    register_plain = [_restart_cs4(run) for _ in range(RESTARTS)]
    run.log("steady-state", "cs4 restarted, no fault", back_after_s=register_plain)
    run.sh("umount /mnt/mfs && mfs-role client >/dev/null 2>&1")
    phases = {"baseline": _phase(run, "baseline, no fault", "/mnt/mfs/c0")}
    run.inject("cs4", "first-packet-drop")
    phases["drop_established"] = _phase(run, "drop active, connections already open",
                                        "/mnt/mfs/c1")
    register_fault = [_restart_cs4(run) for _ in range(RESTARTS)]
    run.log("method", "cs4 restarted behind the fault", back_after_s=register_fault,
            packets_dropped=_dropped(run))
    run.sh("umount /mnt/mfs && mfs-role client >/dev/null 2>&1")
    phases["drop_new_connections"] = _phase(run, "drop active, cs4 and client reconnected",
                                            "/mnt/mfs/c2")
    classes = run.classes()
    run.heal_all()
    return {"goal": 3, "phases": phases,
            "cs4_registers_after_restart_s": {"no fault": register_plain,
                                              "first-packet drop": register_fault},
            "master_classes_after": {k: classes.get(k, 0) for k in
                                     ("missing", "endangered", "undergoal")},
            "any_chunk_with_0_copies": any(p["chunks_by_valid_copies"].get("0")
                                           for p in phases.values())}


# --- (d) mfsfilerepair on a file with a lost chunk -------------------------------------------

def repair_zero_copy(run: Run) -> dict[str, Any]:
    """A 2-chunk file, chunk 0 only on cs1, chunk 1 only on cs2; cs1 loses its disk; repair."""
    chunk = 64 * 1024 * 1024
    # Keep labels "A+B" (A or B) let chunk 0 stay on cs1 while chunk 1 is created on cs2.
    run.sh("mfsscadmin /mnt/mfs modify -f -m s -C A -K A+B 1 >/dev/null && mkdir -p /mnt/mfs/d "
           "&& mfssetgoal 1 /mnt/mfs/d >/dev/null && head -c 67108864 /dev/urandom > /mnt/mfs/d/f"
           " && sync && mfsscadmin /mnt/mfs modify -f -m s -C B -K A+B 1 >/dev/null && "
           "head -c 1048576 /dev/urandom >> /mnt/mfs/d/f && sync")
    before = [run.sh(f"dd if=/mnt/mfs/d/f bs={chunk} skip={i} count=1 status=none | sha256sum")
              .split()[0] for i in range(2)]
    run.log("steady-state", "file with chunk 0 on cs1 and chunk 1 on cs2",
            fileinfo=run.sh("mfsfileinfo /mnt/mfs/d/f"))
    run.inject("cs1", "lose-chunks")
    time.sleep(2)
    check_before = run.sh("mfscheckfile /mnt/mfs/d/f")
    repair_out = run.sh("mfsfilerepair /mnt/mfs/d/f")
    run.log("method", "mfsfilerepair", output=repair_out)
    # The writing client may still serve chunk 0 from its cache; a fresh mount shows
    # what the filesystem now holds.
    stale = run.sh(f"dd if=/mnt/mfs/d/f bs={chunk} count=1 status=none | tr -d '\\000' | wc -c")
    run.sh("mkdir -p /mnt/fresh && mfsmount -H master /mnt/fresh >/dev/null 2>&1")
    after = [run.sh(f"dd if=/mnt/fresh/d/f bs={chunk} skip={i} count=1 status=none | sha256sum")
             .split()[0] for i in range(2)]
    nonzero = run.sh(f"dd if=/mnt/fresh/d/f bs={chunk} count=1 status=none | tr -d '\\000' "
                     "| wc -c")
    size = int(run.sh("stat -c %s /mnt/fresh/d/f").strip())
    run.heal_all()
    time.sleep(3)
    after_heal = run.sh(f"dd if=/mnt/fresh/d/f bs={chunk} count=1 status=none | sha256sum"
                        ).split()[0]
    run.sh("umount /mnt/fresh")
    return {"file_size": size, "checkfile_before": check_before.strip().splitlines()[1:],
            "repair_output": repair_out.strip().splitlines()[1:],
            "chunk0_nonzero_bytes_after": int(nonzero.strip()),
            "chunk0_stale_bytes_in_writer_cache": int(stale.strip()),
            "chunk0_changed": before[0] != after[0], "chunk1_intact": before[1] == after[1],
            "chunk0_back_after_disk_returns": after_heal == before[0],
            "size_unchanged": size == chunk + 1048576}


EXPERIMENTS: dict[str, tuple[str, Callable[[Run], dict[str, Any]]]] = {
    "servers-lost": ("Chunkservers lost versus copies left, goals 1-3", servers_lost),
    "restore-goal": ("Time to restore goal after losing one chunkserver", restore_goal),
    "first-packet-drop": ("One node dropping the first packet of every connection",
                          first_packet_drop),
    "repair-zero-copy": ("What mfsfilerepair does to a chunk with no copy", repair_zero_copy),
}


def run_experiment(name: str, out_dir: Path = DATA_DIR) -> Path:
    """Run one experiment in a fresh moosefs lab and write its JSON result."""
    if name not in EXPERIMENTS:
        raise engine.LabError(f"unknown experiment {name!r}: choose one of "
                              f"{', '.join(EXPERIMENTS)}")
    title, method = EXPERIMENTS[name]
    cl = engine.client()
    prefix = f"bp-exp-{name}"
    facts = {**topologies.up("moosefs", prefix=prefix), "prefix": prefix}
    run = Run(name, facts, cl)
    started = _now()
    try:
        run.log("steady-state", "lab up", seconds=facts.get("seconds"))
        results = method(run)
        status = "completed"
    except Exception as exc:  # the journal says how far it got
        run.log("method", "aborted", error=str(exc))
        results, status = {}, f"aborted: {exc}"
    finally:
        try:
            run.heal_all()
        finally:
            doc_versions = versions(run)
            for container in engine.lab_containers(cl, "moosefs"):
                if container.name.startswith(prefix + "-"):
                    container.remove(force=True)
            engine.remove_networks(cl, [n for n in engine.lab_networks(cl, "moosefs")
                                        if n.name.startswith(prefix)])
    doc = {"experiment": name, "title": title, "status": status, "started": started,
           "finished": _now(), "versions": doc_versions, "lab": "moosefs: master, cs1-cs4, "
           "client; chunk storage 1 GiB tmpfs per chunkserver", "results": results,
           "journal": run.journal}
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n")
    if status != "completed":
        raise engine.LabError(f"experiment {name} {status} (journal in {path})")
    return path

