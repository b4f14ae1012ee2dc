"""The master lost in the middle of writes, restored from the metalogger (``master-restore``).

A client changes the filesystem without pause (create, rename, append; every
acknowledged operation logged with its time, outside the filesystem). The
master is killed with SIGKILL, its disk counts as lost (its data folder is put
aside, unread), and the metalogger's files are copied to the master's host,
where the metadata is rebuilt with the version's tool (the ``mfs.master-restore``
runbook task when it is there) and a master started again. Then: how many of
the operations acknowledged before the kill survived, how many were lost and
how long before the kill they had been acknowledged (the metalogger's lag),
how long the restore took, and whether every chunk was found again. Twice on
one cluster: with the metalogger connected, then with it cut off from the
network (the lab's isolate fault) a few seconds before the kill, as a metalogger
that has fallen behind.

One method on three labs: moosefs (Debian's 3.0.117, the default), moosefs4
and lizardfs. The result computation (:func:`judge`) is a pure function of the
client's log and what the filesystem holds afterwards.
"""

from __future__ import annotations

import functools
import itertools
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.scripts import load
from ..lab.systems import lizardfs as _lizardfs
from ..lab.systems import moosefs as _moosefs
from ..lab.systems import moosefs4 as _moosefs4
from . import labs
from .runner import Experiment, Probe, Rollback, Run, System

REPO = Path(__file__).resolve().parents[2]
WRITE_S = 15  # writes before the kill
DOWN_S = 5  # the master stays dead this long before the restore begins
AFTER_S = 5  # writes go on this long once the client is back
PAUSE = "0.02"  # between files: a few hundred files, each read back afterwards
CUT_OFF_S = 5  # in the second round, the metalogger is cut off this long before the kill
WINDOWS = (1, 5, 10)  # "acknowledged in the last N seconds before the kill"


@dataclass(frozen=True)
class Version:
    """What differs between the three labs for this experiment."""

    flavour: Any  # runbooks.lab.systems.moosefs.Flavour
    data_dir: str  # the master's and the metalogger's metadata folder
    user: str  # who owns it
    package: str  # the journal's versions key
    dialect: str  # runbooks.mfs.collect dialect: how to ask the master for its chunks
    restore: tuple[str, ...]  # the tool's restore, when the runbook task is not there


VERSIONS = {
    "moosefs": Version(_moosefs.MOOSEFS, "/var/lib/mfs", "mfs", "moosefs", "moosefs",
                       ("mfsmaster", "-a", "start")),
    "moosefs4": Version(_moosefs4.MOOSEFS4, "/var/lib/mfs", "mfs", "moosefs", "moosefs4",
                        ("mfsmaster", "-a", "start")),
    # LizardFS's master reads metadata.mfs only: mfsmetarestore -a builds it from the
    # metalogger's metadata_ml.mfs and changelog_ml*.mfs (measured: -o auto-recovery
    # alone stops with "can't open metadata file").
    "lizardfs": Version(_lizardfs.LIZARDFS, "/var/lib/lizardfs", "lizardfs", "lizardfs",
                        "lizardfs",
                        ("sh", "-c", 'mfsmetarestore -a -d "$1" && chown -R "$2:$2" "$1" '
                                     "&& mfsmaster start", "restore")),
}


@dataclass(frozen=True)
class Round:
    """One kill and restore: its name, the writer's folder and log, the metalogger's cut-off."""

    name: str
    cut_off_s: int = 0

    @property
    def directory(self) -> str:
        return f"/mnt/mfs/{self.name}"

    @property
    def log(self) -> str:  # on the client's own disk, not on the filesystem
        return f"/root/master-ops-{self.name}.log"


ROUNDS = (Round("connected"), Round("metalogger-cut-off", CUT_OFF_S))


@functools.cache
def _docker() -> Any:
    return labs.client()


def version(run: Run) -> Version:
    """What this run's lab differs in."""
    return VERSIONS[run.lab]


def node(run: Run, role: str) -> Any:
    """The container of a node (master, metalogger, cs1..cs4, client) of this run's lab."""
    return _docker().containers.get(version(run).flavour.container(run.prefix, role))


def run_in(run: Run, role: str, argv: list[str], what: str, timeout: int = 600) -> str:
    """Run ``argv`` in a node; its output, or LabError with the end of it."""
    code, out = node(run, role).exec_run(["timeout", str(timeout), *argv])
    text = out.decode("utf-8", "replace")
    if code != 0:
        raise labs.LabError(f"{what} failed ({code}): {text[-300:]}")
    return text


def script(run: Run, role: str, source: str, *args: str, timeout: int = 600) -> str:
    """Run a shell script (its text, from load) with arguments in a node."""
    return run_in(run, role, ["sh", "-c", source, "sh", *args], f"script in {role}", timeout)


# --- the result computation (pure) ------------------------------------------------------------

def parse_ops(text: str) -> list[tuple[float, str, int]]:
    """The client's log as (time, operation, i); failed operations keep their ``fail-`` name."""
    ops = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2].isdigit() and re.fullmatch(r"\d+\.\d+", parts[0]):
            ops.append((float(parts[0]), parts[1], int(parts[2])))
    return ops


def parse_state(text: str) -> dict[str, tuple[int, str | None]]:
    """master-state.sh's lines: name -> (size, content lines joined by commas or None)."""
    state: dict[str, tuple[int, str | None]] = {}
    for line in text.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1].isdigit():
            state[parts[0]] = (int(parts[1]), None if parts[2] == "?" else parts[2])
    return state


@functools.cache
def journal_lines(content: str | None) -> tuple[int, ...] | None:
    """The numbers of file j's lines ("j1,j2,..."); None when unreadable or not the writer's."""
    if content is None:
        return None
    lines = content.split(",") if content else []
    if not all(re.fullmatch(r"j[1-9]\d*", line) for line in lines):
        return None
    return tuple(int(line[1:]) for line in lines)


def journal_view(state: dict[str, tuple[int, str | None]]) -> dict[str, Any]:
    """File j after the restore: its lines, and the runs of numbers missing between them."""
    if "j" not in state:
        return {"found": False}
    numbers = journal_lines(state["j"][1])
    if numbers is None:
        return {"found": True, "size": state["j"][0], "readable": state["j"][1] is not None,
                "readable_as_written": False}
    gaps = [[a + 1, b - 1] for a, b in itertools.pairwise(numbers) if b != a + 1]
    return {"found": True, "size": state["j"][0], "readable_as_written": True,
            "lines": len(numbers), "first": numbers[0] if numbers else None,
            "last": numbers[-1] if numbers else None, "gaps": gaps[:5]}


def survived(op: str, i: int, state: dict[str, tuple[int, str | None]]) -> bool | None:
    """Whether the effect of one acknowledged operation is in the restored filesystem.

    A file's content counts, not only its name: "c{i}" for the create, "c{i},a{i}" for
    the append. None: cannot tell, the file that would show it cannot be read.
    """
    created, renamed = f"n{i}", f"f{i}"
    if op == "create":
        name = renamed if renamed in state else created if created in state else None
        if name is None:
            return False
        content = state[name][1]
        return None if content is None else content.split(",")[0] == f"c{i}"
    if op == "rename":
        return renamed in state
    if op == "append":
        if renamed not in state:
            return False
        content = state[renamed][1]
        return None if content is None else content == f"c{i},a{i}"
    if op == "journal":  # j is appended to after the restore too: look for the line itself
        if "j" not in state:
            return False
        lines = journal_lines(state["j"][1])
        return None if lines is None else i in lines
    raise ValueError(f"unknown operation {op!r}")


def expected_content(name: str, size: int) -> str | None:
    """What a file of the writer reads as (lines joined by commas), given its restored size.

    Empty: created but never written (the operation in flight at the kill, replayed).
    None: no size the writer ever gave that file.
    """
    i = name[1:]
    return {0: "", len(f"c{i}\n"): f"c{i}", len(f"c{i}\na{i}\n"): f"c{i},a{i}"}.get(size)


def _windows(before: list[tuple[float, str, int]], lost: list[tuple[float, str, int]],
             kill_at: float) -> list[dict[str, Any]]:
    return [{"seconds": n,
             "acknowledged": sum(1 for t, _, _ in before if kill_at - t <= n),
             "lost": sum(1 for t, _, _ in lost if kill_at - t <= n)} for n in WINDOWS]


def judge(ops: list[tuple[float, str, int]], state: dict[str, tuple[int, str | None]],
          kill_at: float, restore_at: float) -> dict[str, Any]:
    """Survived and lost, from the acknowledged operations and the restored files.

    ``kill_at``: when the master was certainly dead; operations acknowledged at or
    before it count. ``restore_at``: when the restore began (later acknowledgements
    show the client working again).
    """
    done = [o for o in ops if not o[1].startswith("fail-")]
    before = [o for o in done if o[0] <= kill_at]
    verdicts = [(o, survived(o[1], o[2], state)) for o in before]
    lost = [o for o, kept in verdicts if kept is False]
    unknown = [o for o, kept in verdicts if kept is None]
    files = [o for o in before if o[1] == "create"]
    files_lost = [o for o in lost if o[1] == "create"]
    files_unknown = [o for o in unknown if o[1] == "create"]
    wrong = sorted(name for name, (size, content) in state.items()
                   if content is not None and (journal_lines(content) is None if name == "j"
                                               else content != expected_content(name, size)))
    return {
        "changes_acknowledged": len(before),
        "changes_survived": len(before) - len(lost) - len(unknown), "changes_lost": len(lost),
        "changes_unreadable": len(unknown),
        "files_acknowledged": len(files),
        "files_survived": len(files) - len(files_lost) - len(files_unknown),
        "files_lost": len(files_lost), "files_cannot_tell": len(files_unknown),
        "lost_acknowledged_s_before_kill": round(max((kill_at - t for t, _, _ in lost),
                                                     default=0.0), 3),
        "lost_changes": [f"{op} {i}" for _, op, i in lost][:20],
        "last_windows": _windows(before, lost, kill_at),
        "acknowledged_while_down": sum(1 for t, _, _ in done if kill_at < t <= restore_at),
        "acknowledged_after_restore": sum(1 for t, _, _ in done if t > restore_at),
        "failed_operations": sum(1 for _, op, _ in ops if op.startswith("fail-")),
        "entries_after_restore": len(state),
        "files_unreadable": sum(1 for _, content in state.values() if content is None),
        "files_unreadable_names": sorted(n for n, (_, c) in state.items() if c is None)[:20],
        "files_read_wrong": wrong[:20], "files_read_wrong_count": len(wrong),
        "files_read_wrong_detail": [f"{n} {state[n][0]} {state[n][1]}"[:200] for n in wrong[:5]],
        "journal_file": journal_view(state),
    }


# --- the lab side -----------------------------------------------------------------------------

def registered(run: Run, wait: float = 60) -> int:
    """Chunkservers registered with their space, waiting up to ``wait`` s for all four."""
    client, count = node(run, "client"), 0
    deadline = time.monotonic() + wait
    while (count := version(run).flavour.registered(client)) < len(labs.CHUNKSERVERS) \
            and time.monotonic() < deadline:
        time.sleep(0.5)
    return count


def cluster_view(run: Run) -> Any:
    """The master's own view (chunk classes, missing files), asked as mfs.audit --cluster does."""
    from ..mfs import collect, parse

    dialect = collect.DIALECTS[version(run).dialect]
    answers = [run_in(run, "client", argv, argv[0], 60)
               for argv in collect.cluster_commands(dialect, "master", None)]
    if dialect is collect.LIZARDFS:
        servers, health, defective = answers
        return parse.lizardfs_view(health, defective, servers)
    return parse.parse_mfscli_json(answers[0]) if dialect.levels else parse.parse_mfscli(answers[0])


def missing_chunks(run: Run) -> int:
    """Chunks the master counts as missing."""
    return cluster_view(run).classes.get("missing", 0)


def versions(run: Run) -> dict[str, str]:
    """The journal's versions: the system's (from the master), kernel, Docker, Python."""
    v = version(run)
    if run.lab == "moosefs":
        argv = ["dpkg-query", "-W", "-f", "${Version}", "moosefs-master"]
    else:  # built from source: "version: 4.59.2-..." / "LizardFS master 3.13.0-devel"
        argv = ["mfsmaster", "-v"]
    _, out = node(run, "master").exec_run(argv)
    found = re.search(r"\d+\.\d+\.\d+\S*", out.decode("utf-8", "replace"))
    _, kernel = node(run, "client").exec_run(["uname", "-r"])
    return {v.package: found.group(0) if found else "?", "kernel": kernel.decode().strip(),
            "docker": _docker().version().get("Version", "?"), "python": platform.python_version()}


def read_log(run: Run, log: str) -> str:
    """The client's log of acknowledged operations, as written."""
    return run_in(run, "client", ["cat", log], "read the log")


def start_writes(run: Run, r: Round) -> int:
    """Start the writer; lines in its log when the kill (or the cut-off) is due."""
    node(run, "client").exec_run(["sh", "-c", load(__package__, "master-writes.sh"),
                                  "master-writes.sh", r.directory, r.log, PAUSE], detach=True)
    time.sleep(WRITE_S - r.cut_off_s)
    return len(read_log(run, r.log).splitlines())


def stop_writes(run: Run) -> str:
    """Kill every writer (by the process ids they wrote down); what was done."""
    code, out = node(run, "client").exec_run(
        ["sh", "-c", 'for p in /root/master-ops-*.log.pid; do [ -f "$p" ] || continue; '
                     'kill "$(cat "$p")" 2>/dev/null && echo "stopped $p"; rm -f "$p"; done'])
    return out.decode().strip() if code == 0 else "not stopped"


def cut_off(run: Run, r: Round) -> dict[str, Any]:
    """Isolate the metalogger (the lab's fault), then let the writes go on.

    The moment the fault is in place is kept: injecting it takes time of its own.
    """
    metalogger = node(run, "metalogger")
    labs.inject(metalogger, "isolate")
    isolated_at = time.time()
    time.sleep(r.cut_off_s)
    return {"isolated_at": isolated_at, "active": labs.active(metalogger)}


def kill_master(run: Run) -> float:
    """SIGKILL to mfsmaster (the lab's kill fault) and wait until it is gone; that moment."""
    run_in(run, "master", ["sh", "-c", "pkill -KILL -x mfsmaster; "
                           "while pgrep -x mfsmaster >/dev/null; do sleep 0.05; done"],
           "kill the master", 30)
    return time.time()


def last_change(run: Run, role: str, directory: str) -> int:
    """The number of the last change in a folder's changelogs."""
    return int(script(run, role, load(__package__, "master-changelog.sh"), directory,
                      timeout=30).strip() or 0)


def lose_disk(run: Run, r: Round) -> dict[str, Any]:
    """The master's disk is lost: its data folder is put aside (compared with, never used)."""
    folder = version(run).data_dir
    lost = f"{folder}.lost-{r.name}"
    run_in(run, "master", ["mv", folder, lost], "put the master's folder aside")
    return {"master_last_change": last_change(run, "master", lost),
            "metalogger_last_change": last_change(run, "metalogger", folder)}


def copy_metalogger(run: Run) -> list[str]:
    """Copy the metalogger's data folder to the master's host, as scp would; the files."""
    v = version(run)
    stream, _ = node(run, "metalogger").get_archive(v.data_dir)
    node(run, "master").put_archive(str(Path(v.data_dir).parent), b"".join(stream))
    run_in(run, "master", ["sh", "-c", 'rm -f "$1/.mfsmetalogger.lock" && chown -R "$2:$2" "$1"',
                           "copy", v.data_dir, v.user], "tidy the copy")
    return sorted(run_in(run, "master", ["ls", v.data_dir], "list the copy").split())


def _task(run: Run) -> subprocess.CompletedProcess[str]:
    """The runbook task mfs.master-restore --apply, run as an operator would, on the master."""
    v = version(run)
    argv = [sys.executable, "-m", "invoke", "mfs.master-restore", "--apply",
            "--data-dir", v.data_dir, "--container", node(run, "master").name]
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False,
                          timeout=300)


def restore(run: Run) -> dict[str, Any]:
    """Rebuild the metadata and start the master: the runbook task, else the tool by hand."""
    v = version(run)
    done = _task(run)
    output = (done.stdout + done.stderr).strip()
    if "No idea what" in output:  # invoke's answer for a task that does not exist
        task = {"ran": False, "why": "no task mfs.master-restore in this tree"}
    else:
        task = {"ran": True, "exit": done.returncode, "output": output.splitlines()[-15:]}
    up = run_in(run, "master", ["sh", "-c", "pgrep -x mfsmaster || true"], "is a master up")
    if not up.strip():  # the task did not start one: the version's tool, by hand
        args = (v.data_dir, v.user) if v.restore[0] == "sh" else ()
        tool = run_in(run, "master", [*v.restore, *args], "restore with the tool", 300)
        return {"runbook_task": task, "restored_with": " ".join(v.restore[:3]),
                "tool_output": tool.strip().splitlines()[-10:]}
    return {"runbook_task": task, "restored_with": "invoke mfs.master-restore --apply"}


def _first_ack_after(run: Run, log: str, moment: float, wait: float) -> float | None:
    """Seconds from ``moment`` to the client's first acknowledgement after it (None: none)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        times = [t for t, op, _ in parse_ops(read_log(run, log))
                 if t > moment and not op.startswith("fail-")]
        if times:
            return round(min(times) - moment, 2)
        time.sleep(0.5)
    return None


def _back(run: Run, r: Round, began: float) -> dict[str, Any]:
    """Seconds from the start of the restore until the master answers with four chunkservers
    and the client writes again (remounted when it does not within a minute)."""
    count = registered(run, 120)
    servers = round(time.time() - began, 2)
    resumed, remounted = _first_ack_after(run, r.log, began, 60), False
    if resumed is None:
        run_in(run, "client", ["sh", "-c", "umount -l /mnt/mfs; mfs-role client"], "remount")
        resumed, remounted = _first_ack_after(run, r.log, began, 60), True
    return {"chunkservers_registered": count, "chunkservers_back_s": servers,
            "client_writes_again_s": resumed, "client_remounted": remounted}


def _missing_after(run: Run) -> dict[str, Any]:
    """The master's chunk classes once every chunkserver is back (its counters settle)."""
    view = cluster_view(run)
    return {"missing": view.classes.get("missing", 0), "caveat": view.caveat}


SEEDS = 50
SEED_DIR = "/mnt/mfs/s"


def _seed(run: Run) -> dict[str, Any]:
    """Files written, then a clean master restart (its metadata dumped) and a metalogger
    restart: a metalogger downloads the metadata when it starts (then every
    META_DOWNLOAD_FREQ hours), so the restore starts from a real metadata file plus
    the changelogs since, as it would in a cluster that has run for a while."""
    v = version(run)
    run_in(run, "client", ["sh", "-c", 'mkdir -p "$1" && for i in $(seq 1 "$2"); do '
                           'echo "s$i" > "$1/s$i"; done', "seed", SEED_DIR, str(SEEDS)], "seed")
    run_in(run, "master", ["sh", "-c", "mfsmaster stop && mfs-role master"], "restart", 120)
    run_in(run, "metalogger", ["sh", "-c", "mfsmetalogger stop && mfs-role metalogger"],
           "restart the metalogger", 120)
    found = ""
    for _ in range(30):
        found = run_in(run, "metalogger", ["find", v.data_dir, "-name", "metadata_ml*",
                                           "-size", "+8c"], "metalogger metadata").strip()
        if found:
            break
        time.sleep(1)
    return {"files": SEEDS, "chunkservers": registered(run, 60),
            "metalogger_metadata": found.split()}


def _log_summary(text: str, kill_at: float) -> dict[str, Any]:
    """The client's log in brief: its size and the lines around the kill."""
    lines = text.splitlines()
    cut = sum(1 for line in lines if parse_ops(line) and parse_ops(line)[0][0] <= kill_at)
    garbled = [line for line in lines if not parse_ops(line)]
    return {"lines": len(lines), "before_kill": cut, "last_before_kill": lines[max(0, cut - 4):cut],
            "first_after_kill": lines[cut:cut + 3], "unreadable_lines": len(garbled),
            "unreadable_sample": [repr(line) for line in garbled[:3]]}


def _state_summary(state: dict[str, tuple[int, str | None]], seeds: str) -> dict[str, Any]:
    return {"entries": len(state), "seeded_files_found": len(seeds.split()),
            "sample": [f"{k} {v[0]} {v[1]}" for k, v in sorted(state.items())[:3]]}


def _count(run: Run, r: Round, kill_at: float, began: float) -> dict[str, Any]:
    """Read the log and the restored files, and judge them."""
    with run.step(f"{r.name}: the client's log", "probe") as step:
        text = read_log(run, r.log)
        step.output = _log_summary(text, kill_at)
    with run.step(f"{r.name}: the files after the restore", "probe") as step:
        state = parse_state(script(run, "client", load(__package__, "master-state.sh"),
                                    r.directory, "5"))
        seeds = run_in(run, "client", ["ls", SEED_DIR], "seeded files")
        step.output = _state_summary(state, seeds)
    return {**judge(parse_ops(text), state, kill_at, began),
            "seeded_files_survived": step.output["seeded_files_found"]}


def _kill_and_restore(run: Run, r: Round) -> dict[str, Any]:
    """Writes, (the metalogger cut off,) SIGKILL to the master, restore; what it took."""
    before = run.action(f"{r.name}: writes", start_writes, run, r)
    isolated_at = None
    if r.cut_off_s:
        isolated_at = run.action(f"{r.name}: metalogger cut off (isolate) {r.cut_off_s} s "
                                 "before the kill", cut_off, run, r)["isolated_at"]
    kill_at = run.action(f"{r.name}: kill the master (SIGKILL)", kill_master, run)
    time.sleep(DOWN_S)
    began = time.time()
    lag = run.action(f"{r.name}: the master's disk is lost", lose_disk, run, r)
    copied = run.action(f"{r.name}: copy the metalogger's files to the master's host",
                        copy_metalogger, run)
    how = run.action(f"{r.name}: restore the metadata and start the master", restore, run)
    restored_s = round(time.time() - began, 2)
    back = run.probe(f"{r.name}: master, chunkservers and client back", _back, run, r, began)
    return {"kill_at": kill_at, "began": began, "log_lines_before_kill": before,
            "metalogger_isolated_s_before_kill": None if isolated_at is None
            else round(kill_at - isolated_at, 3),
            "metalogger_behind_master_changes": lag["master_last_change"]
            - lag["metalogger_last_change"], **lag,
            "metalogger_files": copied, **how, "restore_s": restored_s, **back}


def fileinfo(run: Run, path: str) -> list[str]:
    """The version's fileinfo of one file (its chunks and their copies), as printed."""
    from ..mfs import collect

    argv = [*collect.DIALECTS[version(run).dialect].fileinfo, path]
    _, out = node(run, "client").exec_run(["timeout", "-k", "1", "20", *argv])
    return [line.strip() for line in out.decode("utf-8", "replace").splitlines()][:12]


def one_round(run: Run, r: Round) -> dict[str, Any]:
    """One kill and restore, then the count: survived, lost, chunks found again."""
    done = _kill_and_restore(run, r)
    if r.cut_off_s:
        run.action(f"{r.name}: metalogger reconnected (heal)", labs.heal,
                   node(run, "metalogger"))
    time.sleep(AFTER_S)
    run.action(f"{r.name}: stop the writes", stop_writes, run)
    counted = _count(run, r, done.pop("kill_at"), done.pop("began"))
    chunks = run.probe(f"{r.name}: the master's chunks", _missing_after, run)
    journal = run.probe(f"{r.name}: fileinfo of j", fileinfo, run, f"{r.directory}/j")
    return {"metalogger_cut_off_s": r.cut_off_s, **counted, **done, "fileinfo_j": journal,
            "chunks_missing_after": chunks["missing"], "chunks_after": chunks}


def master_restore(run: Run) -> dict[str, Any]:
    """Two rounds on one cluster: the metalogger connected, then cut off before the kill."""
    seeded = run.action("files, then master and metalogger restarted (metadata dumped)", _seed,
                        run)
    rounds = {r.name: one_round(run, r) for r in ROUNDS}
    return {"written_for_s": WRITE_S, "down_for_s": DOWN_S, "seeded_files": seeded["files"],
            "metalogger_metadata_before": seeded["metalogger_metadata"], "rounds": rounds}


def _heal_metalogger(run: Run) -> list[str]:
    return labs.heal(node(run, "metalogger"))


# --- the definition ---------------------------------------------------------------------------

def _system(lab: str, description: str) -> System:
    return System(description, up=lambda prefix: labs.up(lab, prefix=prefix),
                  down=lambda run: labs.remove_lab(_docker(), lab, run.prefix),
                  versions=versions, lab=lab)


STEADY_STATE = (Probe("chunkservers registered with their space", registered, 4),
                Probe("chunks missing (master)", missing_chunks, 0))
ROLLBACKS = (Rollback("stop the writes", stop_writes),
             Rollback("heal the metalogger", _heal_metalogger))
EXPERIMENTS = {"master-restore": Experiment(
    "master-restore", "The master lost in the middle of writes, restored from the metalogger",
    _system("moosefs", "moosefs: master, metalogger, cs1-cs4, client"), STEADY_STATE,
    master_restore, ROLLBACKS,
    variants=(_system("moosefs4", "moosefs4 (4.59.2 from source): master, metalogger, "
                                  "cs1-cs4, client"),
              _system("lizardfs", "lizardfs (3.13 from source): master, metalogger, "
                                  "cs1-cs4, client")))}
