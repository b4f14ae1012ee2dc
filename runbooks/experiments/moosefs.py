"""The MooseFS experiments, each in a lab of its own (master, cs1-cs4, client, ...).

Each runs on the ``moosefs`` lab (Debian's MooseFS 3.0, the default) and, as
variants, on ``moosefs4`` (MooseFS 4) and ``lizardfs`` (LizardFS 3.13): one
method, driven through the lab's :class:`labs.MfsTools` (``tools(run)``).
Steady state: all four chunkservers registered with their space, and no chunk
missing. Rollback: heal every fault still injected. Results are reported as
measured, including when they contradict a story.
"""

from __future__ import annotations

import contextlib
import functools
import platform
import time
from typing import Any

from ..core.scripts import load
from . import labs
from .runner import Experiment, Probe, Rollback, Run, System

MFS_ROLES = labs.CHUNKSERVERS


@functools.cache
def _docker() -> Any:
    return labs.client()


def tools(run: Run) -> labs.MfsTools:
    """How this run's lab (moosefs, moosefs4 or lizardfs) is driven."""
    return labs.MFS_TOOLS[run.lab or "moosefs"]


def node(run: Run, role: str) -> Any:
    return _docker().containers.get(tools(run).container(run.prefix, role))


def run_tool(run: Run, argv: tuple[str, ...] | list[str], *paths: str) -> tuple[str, str]:
    """A client tool over ``paths``: (stdout, stderr), whatever its exit status.

    The tools exit 1 when any path failed but still report the others.
    """
    out, err = node(run, "client").exec_run([*argv, *paths], demux=True).output
    return (out or b"").decode("utf-8", "replace"), (err or b"").decode("utf-8", "replace")


def sh(run: Run, script: str, *args: str, timeout: int = 600) -> str:
    """Run a shell script (with arguments) in the client; raise with its output if it fails."""
    code, out = node(run, "client").exec_run(["timeout", str(timeout), "sh", "-c", script, "sh",
                                              *args])
    text = out.decode("utf-8", "replace")
    if code != 0:
        raise labs.LabError(f"{run.journal.experiment}: client script failed ({code}): "
                            f"{text[-300:]}")
    return text


def classes(run: Run, attempts: int = 3) -> dict[str, int]:
    """The master's chunk classes (missing, endangered, undergoal, ...).

    Asked up to ``attempts`` times: lizardfs-admin now and then gets no answer from a
    busy master (measured while it re-replicated after a lost chunkserver).
    """
    for attempt in range(attempts):
        out, err = run_tool(run, tools(run).classes_command)
        if out.strip():
            return tools(run).parse_classes(out)
        time.sleep(0.5 * (attempt + 1))
    raise labs.LabError(f"{' '.join(tools(run).classes_command)}: no answer "
                        f"{err.strip()[:200]}")


def checkfile(run: Run, paths: list[str], attempts: int = 3) -> dict[str, Any]:
    """Valid copies per chunk of every path (the lab's checkfile tool).

    Asked again when the output does not parse: once, while a chunkserver was
    stopped, ``lizardfs checkfile``'s output reached us without its first bytes.
    """
    from ..core.errors import ParseError

    for _ in range(attempts - 1):
        with contextlib.suppress(ParseError):
            return tools(run).parse_checkfile(*_checkfile_output(run, paths))
        time.sleep(0.5)
    return tools(run).parse_checkfile(*_checkfile_output(run, paths))


def _checkfile_output(run: Run, paths: list[str]) -> tuple[str, list[str], str]:
    out, err = run_tool(run, tools(run).checkfile, *paths)
    return out, paths, err


def fileinfo(run: Run, paths: list[str]) -> dict[str, Any]:
    """Every chunk of every path with its copies (the lab's fileinfo tool)."""
    out, err = run_tool(run, tools(run).fileinfo, *paths)
    return tools(run).parse_fileinfo(out, paths, err)


def set_goal(run: Run, directory: str, goal: int) -> None:
    """Make ``directory`` and set its goal (MooseFS 4: storage class NCP)."""
    sh(run, load(__package__, "set-goal.sh"), tools(run).lab, directory, str(goal))


def relab(run: Run) -> None:
    """Replace this run's lab with a fresh one (same names)."""
    with run.step("fresh lab") as step:
        run.facts.update(labs.up(tools(run).lab, prefix=run.prefix))
        step.output = {"seconds": run.facts.get("seconds")}


def inject(run: Run, role: str, kind: str) -> None:
    run.action(f"inject {kind} into {role}", labs.inject, node(run, role), kind)


def heal_all(run: Run) -> list[str]:
    """Heal every fault on every node; what was healed, as ``role: what``."""
    return [f"{role}: {done}" for role in ("master", *MFS_ROLES, "client")
            for done in labs.heal(node(run, role))]


def registered(run: Run, wait: float = 60) -> int:
    """Chunkservers registered with their space, waiting up to ``wait`` s for all four."""
    deadline = time.monotonic() + wait
    while (count := tools(run).registered(node(run, "client"))) < len(MFS_ROLES) \
            and time.monotonic() < deadline:
        time.sleep(0.5)
    return count


def versions(run: Run) -> dict[str, str]:
    """The system's version (keyed by the lab's name), the kernel's, Docker's, Python's."""
    _, kernel = node(run, "client").exec_run(["uname", "-r"])
    return {tools(run).lab: tools(run).version(node(run, "master")),
            "kernel": kernel.decode().strip(),
            "docker": _docker().version().get("Version", "?"),
            "python": platform.python_version()}


def write_files(run: Run, directory: str, count: int, size: int, goal: int) -> dict[str, str]:
    """Create ``count`` random files of ``size`` bytes at ``goal``; returns path -> sha256."""
    set_goal(run, directory, goal)
    out = sh(run, load(__package__, "write-files.sh"), directory, str(count), str(size))
    sums = {}
    for line in out.splitlines():
        digest, name = line.split()
        sums[f"{directory}/{name}"] = digest
    return sums


def copies_histogram(checks: dict[str, Any]) -> dict[str, int]:
    """Chunks per number of valid copies, over all files."""
    histogram: dict[str, int] = {}
    for check in checks.values():
        for copies, count in getattr(check, "copies", {}).items():
            histogram[str(copies)] = histogram.get(str(copies), 0) + count
    return dict(sorted(histogram.items()))


def intact(run: Run, sums: dict[str, str], paths: list[str], timeout: int) -> int:
    """How many of ``paths`` read back with the sum they were written with."""
    if not paths:
        return 0
    out = sh(run, "sha256sum \"$@\"", *paths, timeout=timeout)
    return sum(1 for line in out.splitlines() if sums.get(line.split()[1]) == line.split()[0])


# --- (a) servers lost versus copies left and readability -----------------------------------

def _servers_lost_goal(run: Run, goal: int) -> list[dict[str, Any]]:
    relab(run)
    with run.step(f"goal {goal}: 40 one-chunk files on a fresh cluster") as step:
        sums = write_files(run, f"/mnt/mfs/goal{goal}", 40, 200_000, goal)
        step.output = {"copies": copies_histogram(checkfile(run, list(sums)))}
    rows = []
    for lost in range(0, 4):
        for role in MFS_ROLES[:lost]:
            if "stop" not in labs.active(node(run, role)):
                inject(run, role, "stop")
        with run.step(f"goal {goal}, {lost} of 4 stopped", "probe") as step:
            checks = checkfile(run, list(sums))
            zero = [p for p, c in checks.items() if c.copies.get(0)]
            # Reading a lost chunk blocks in the client's retries: read only the rest,
            # and check that what is read is what was written.
            good = intact(run, sums, [p for p in sums if p not in zero], 300)
            step.output = {"goal": goal, "servers_lost": lost, "files": len(sums),
                           "chunks_by_valid_copies": copies_histogram(checks),
                           "files_with_0_copy_chunks": len(zero), "files_read_intact": good}
        rows.append(step.output)
    run.action("heal every fault", heal_all, run)
    return rows


def servers_lost(run: Run) -> dict[str, Any]:
    """Goals 1-3, each on a fresh cluster: stop 0..3 of 4 chunkservers, count copies left."""
    results = [row for goal in (1, 2, 3) for row in _servers_lost_goal(run, goal)]
    return {"rows": results, "files_per_goal": 40, "file_size": 200_000,
            "fault": "graceful stop (mfschunkserver stop) of cs1..csK, fresh cluster per goal"}


# --- (b) time to restore goal after losing one server ---------------------------------------

def below_goal(run: Run, paths: list[str], goal: int) -> int:
    checks = checkfile(run, paths)
    return sum(count for check in checks.values() for copies, count in check.copies.items()
               if copies < goal)


def _watch_restore(run: Run, paths: list[str], start: float, limit: float) -> dict[str, Any]:
    """Poll until the files are back at goal 2 (or ``limit`` s after ``start``)."""
    series = []
    restored_at = None
    while time.monotonic() - start < limit:
        elapsed = round(time.monotonic() - start, 1)
        files_view = below_goal(run, paths, 2)
        try:
            master: dict[str, Any] = classes(run)
        except labs.LabError:  # the master did not answer: a gap in its series
            master = {"endangered": None, "undergoal": None}
        series.append({"s": elapsed, "chunks_below_goal": files_view,
                       "master_endangered": master.get("endangered", 0),
                       "master_undergoal": master.get("undergoal", 0)})
        seen_below = any(row["chunks_below_goal"] for row in series)
        if files_view == 0 and (seen_below or elapsed > 10):
            restored_at = elapsed
            break
        time.sleep(0.5)
    peak = max(row["chunks_below_goal"] for row in series)
    master_peak = max((row["master_endangered"] + row["master_undergoal"] for row in series
                       if row["master_endangered"] is not None), default=None)
    return {"restored": restored_at is not None, "seconds": restored_at,
            "ever_below_goal": peak > 0, "observed_for_s": round(time.monotonic() - start, 1),
            "chunks_below_goal_peak": peak, "master_reported_peak": master_peak,
            "master_unanswered": sum(1 for row in series if row["master_endangered"] is None),
            "series": series[:: max(1, len(series) // 40)]}


def restore_goal(run: Run) -> dict[str, Any]:
    """300 one-chunk files at goal 2; one chunkserver killed vs stopped: time back to goal.

    Tracked two ways: per file (mfscheckfile, what mfs.audit sees) and the master's
    chunk matrix (mfscli -SIC), because they disagree for a server in maintenance.
    """
    outcomes = {}
    for kind, limit in (("kill", 600), ("stop", 120)):
        relab(run)  # each way of losing cs4 starts from a fresh, balanced cluster
        paths = list(run.action("300 chunks at goal 2", write_files, run, "/mnt/mfs/b", 300,
                                100_000, 2))
        start = time.monotonic()  # the time back to goal includes the injection
        inject(run, "cs4", kind)
        with run.step(f"cs4 {kind}", "probe") as step:
            outcomes[kind] = _watch_restore(run, paths, start, limit)
            step.output = {"restored_after_s": outcomes[kind]["seconds"],
                           "peak": outcomes[kind]["chunks_below_goal_peak"],
                           "master_peak": outcomes[kind]["master_reported_peak"]}
        run.action("heal every fault", heal_all, run)
    return {"chunks": 300, "goal": 2, "outcomes": outcomes,
            "master_config": master_settings(run)}


def master_settings(run: Run) -> dict[str, str]:
    """The settings that decide when the master replicates, as ``VALUE (lab|default)``."""
    config, sample = tools(run).master_config
    out = labs.exec_checked(node(run, "master"), ["sh", "-c", load(__package__,
                            "master-settings.sh"), "settings", config, sample,
                            *tools(run).settings], "master settings")
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


# --- (c) first-packet drop on one node during writes ----------------------------------------

def _dropped(run: Run) -> int:
    script = "iptables -L BP_FAULT -n -v -x | awk '$3 == \"DROP\" {s += $1} END {print s+0}'"
    _, out = node(run, "cs4").exec_run(["sh", "-c", script])
    return int(out.decode().strip() or 0)


def _timed_writes(run: Run, directory: str, count: int) -> tuple[dict[str, str], list[float]]:
    """Write files one by one (each closed and synced); returns sums and per-file seconds."""
    set_goal(run, directory, 3)
    out = sh(run, load(__package__, "timed-writes.sh"), directory, str(count), timeout=900)
    times, sums = [], {}
    for line in out.splitlines():
        parts = line.split()
        if parts[0] == "t":
            times.append(round(float(parts[2]) - float(parts[1]), 3))
        else:
            sums[f"{directory}/{parts[1]}"] = parts[0]
    return sums, times


def _phase(run: Run, directory: str) -> dict[str, Any]:
    dropping = "first-packet-drop" in labs.active(node(run, "cs4"))
    before = _dropped(run) if dropping else 0
    sums, times = _timed_writes(run, directory, 60)
    dropped = (_dropped(run) - before) if dropping else 0
    checks = checkfile(run, list(sums))
    good = intact(run, sums, list(sums), 600)
    chunks = [c for info in fileinfo(run, list(sums)).values() if isinstance(info, list)
              for c in info if c.chunk_id is not None]
    listed = sum(1 for c in chunks for copy in c.copies if copy.status == "WRONG VERSION")
    by_server: dict[str, int] = {}
    roles = _roles(run)
    for copy in (copy for c in chunks for copy in c.copies if copy.status in ("", "VALID")):
        role = _role_of(run, copy.server, roles)
        by_server[role] = by_server.get(role, 0) + 1
    return {**on_disk(run, chunks), "valid_copies_listed_by_server": dict(sorted(
            by_server.items())), "wrong_version_copies":
            listed if tools(run).lists_stale_copies else None,
            "files": len(sums), "seconds_total": round(sum(times), 2),
            "seconds_per_file_max": max(times), "files_slower_than_0_5s":
            sum(1 for t in times if t > 0.5), "packets_dropped": dropped,
            "chunks_by_valid_copies": copies_histogram(checks), "files_read_intact": good}


def on_disk(run: Run, chunks: list[Any]) -> dict[str, Any]:
    """Copies of ``chunks`` in the chunkservers' chunk folders: at the master's version
    (in all and per server), and stale (another version: what fileinfo calls WRONG
    VERSION, if it lists them)."""
    wanted = {c.chunk_id: c.version for c in chunks}
    by_server: dict[str, int] = {}
    stale = 0
    script = load(__package__, "chunk-files.sh")
    for role in MFS_ROLES:
        listing = labs.exec_checked(node(run, role), ["sh", "-c", script, "chunks",
                                                      "/mfsdata/chunks"], f"chunks of {role}")
        by_server[role] = 0
        for line in listing.splitlines():
            chunk_id, version = (int(x, 16) for x in line.split())
            if chunk_id in wanted:
                by_server[role] += wanted[chunk_id] == version
                stale += wanted[chunk_id] != version
    return {"copies_on_disk": sum(by_server.values()), "copies_on_disk_by_server": by_server,
            "stale_copies_on_disk": stale}


RESTARTS = 5  # registration times vary a lot from one restart to the next


def _restart_cs4(run: Run) -> float:
    """Kill and restart cs4's daemon; seconds until the master lists it with its space.

    A SIGKILL, not a clean stop: a cleanly stopped server enters temporary
    maintenance and gets no new chunks, which would hide the effect.
    """
    cs4 = node(run, "cs4")
    labs.exec_checked(cs4, ["sh", "-c", "pkill -KILL -x mfschunkserver; "
                                        "while pgrep -x mfschunkserver; do sleep 0.1; done"],
                      "kill cs4")
    time.sleep(1)  # let the master notice it is gone
    start = time.monotonic()
    labs.exec_checked(cs4, ["mfs-role", "chunkserver"], "start cs4")
    for _ in range(240):
        if tools(run).registered(node(run, "client")) == 4:
            break
        time.sleep(0.25)
    return round(time.monotonic() - start, 1)


def _remount(run: Run) -> None:
    sh(run, "umount /mnt/mfs && mfs-role client >/dev/null 2>&1")


def first_packet_drop(run: Run) -> dict[str, Any]:
    """Goal-3 writes while cs4 drops the first packet of every new connection.

    Established connections are untouched by such a bug, so the second phase
    restarts cs4's daemon and remounts the client: every connection to cs4 is
    then new and loses its first packet.
    """
    with run.step("cs4 restarted, no fault") as step:
        register_plain = [_restart_cs4(run) for _ in range(RESTARTS)]
        step.output = {"back_after_s": register_plain}
    run.action("remount the client", _remount, run)
    phases = {"baseline": run.probe("baseline, no fault", _phase, run, "/mnt/mfs/c0")}
    inject(run, "cs4", "first-packet-drop")
    phases["drop_established"] = run.probe("drop active, connections already open", _phase,
                                           run, "/mnt/mfs/c1")
    with run.step("cs4 restarted behind the fault") as step:
        register_fault = [_restart_cs4(run) for _ in range(RESTARTS)]
        step.output = {"back_after_s": register_fault, "packets_dropped": _dropped(run)}
    run.action("remount the client", _remount, run)
    phases["drop_new_connections"] = run.probe("drop active, cs4 and client reconnected",
                                               _phase, run, "/mnt/mfs/c2")
    master = run.probe("master chunk classes", classes, run)
    run.action("heal every fault", heal_all, run)
    return {"goal": 3, "phases": phases,
            "cs4_registers_after_restart_s": {"no fault": register_plain,
                                              "first-packet drop": register_fault},
            "master_classes_after": {k: master.get(k, 0) for k in
                                     ("missing", "endangered", "undergoal")},
            "any_chunk_with_0_copies": any(p["chunks_by_valid_copies"].get("0")
                                           for p in phases.values()),
            "any_stale_copy": any(p["stale_copies_on_disk"] or p["wrong_version_copies"]
                                  for p in phases.values())}


# --- (d) mfsfilerepair on a file with a lost chunk -------------------------------------------

CHUNK = 64 * 1024 * 1024
FILE = "/mnt/mfs/d/f"
READ_TIMEOUT = 150  # MooseFS 4 may block a read of a chunk with no copy for minutes


def _chunk_sum(run: Run, path: str, index: int) -> str:
    """sha256 of one chunk of ``path``, or ``read failed: ...`` (the read is part of what
    is measured)."""
    try:
        return sh(run, "dd if=\"$1\" bs=\"$2\" skip=\"$3\" count=1 status=none | sha256sum",
                  path, str(CHUNK), str(index), timeout=READ_TIMEOUT).split()[0]
    except labs.LabError as exc:
        return f"read failed: {str(exc).splitlines()[-1][-120:]}"


def _nonzero_bytes(run: Run, path: str) -> int | str:
    try:
        # dd's own status counts: a failed read must not count as zero bytes
        out = sh(run, "dd if=\"$1\" bs=\"$2\" count=1 status=none > /tmp/chunk0 || exit 1; "
                 "tr -d '\\000' < /tmp/chunk0 | wc -c; rm -f /tmp/chunk0", path, str(CHUNK),
                 timeout=READ_TIMEOUT)
    except labs.LabError as exc:
        return f"read failed: {str(exc).splitlines()[-1][-120:]}"
    return int(out.strip())


def _fresh_mount(run: Run) -> dict[str, Any]:
    """What a new mount shows (nothing cached): chunk sums, non-zero bytes of chunk 0, size."""
    sh(run, "umount /mnt/fresh 2>/dev/null; mkdir -p /mnt/fresh && \"$@\" /mnt/fresh "
            ">/dev/null 2>&1", *tools(run).mount)
    path = FILE.replace("/mnt/mfs", "/mnt/fresh")
    return {"sums": [_chunk_sum(run, path, i) for i in range(2)],
            "nonzero": _nonzero_bytes(run, path),
            "size": int(sh(run, "stat -c %s \"$1\"", path).strip())}


def _holder(run: Run, index: int) -> str:
    """The chunkserver (cs1..cs4) that holds chunk ``index`` of FILE (goal 1: one copy)."""
    (info,) = fileinfo(run, [FILE]).values()
    (copy,) = info[index].copies
    return _role_of(run, copy.server)


def _roles(run: Run) -> dict[str, str]:
    """Chunkserver addresses -> cs1..cs4."""
    return {n["IPAddress"]: role for role in MFS_ROLES
            for n in node(run, role).attrs["NetworkSettings"]["Networks"].values()
            if n.get("IPAddress")}


def _role_of(run: Run, server: str, roles: dict[str, str] | None = None) -> str:
    """cs1..cs4 for a chunkserver's ``IP:PORT[:LABEL]`` as the tools print it."""
    address = server.split(":")[0]
    role = (roles if roles is not None else _roles(run)).get(address)
    if role is None:
        raise labs.LabError(f"no chunkserver has address {address}")
    return role


def _two_servers(run: Run) -> dict[str, str]:
    """FILE in two chunks at goal 1, each on another server: chunk 0 is written, its
    server stopped while chunk 1 is appended (so it goes elsewhere), then started again."""
    set_goal(run, "/mnt/mfs/d", 1)
    sh(run, "head -c \"$2\" /dev/urandom > \"$1\" && sync", FILE, str(CHUNK))
    first = _holder(run, 0)
    inject(run, first, "stop")
    sh(run, "head -c 1048576 /dev/urandom >> \"$1\" && sync", FILE)
    run.action(f"start {first} again", labs.heal, node(run, first))
    registered(run)
    return {"chunk 0": first, "chunk 1": _holder(run, 1)}


def _repair(run: Run, argv: tuple[str, ...]) -> list[str]:
    out, err = run_tool(run, argv, FILE)
    return (out.strip().splitlines() + err.strip().splitlines())[1:]


def repair_zero_copy(run: Run) -> dict[str, Any]:
    """A 2-chunk file, each chunk on one server; chunk 0's server loses its disk; repair.

    Where the lab has a correct-only repair (LizardFS ``filerepair -c``) it runs first.
    """
    with run.step("file with chunk 0 and chunk 1 on two servers") as step:
        where = _two_servers(run)
        before = [_chunk_sum(run, FILE, i) for i in range(2)]
        step.output = {"servers": where, "fileinfo": sh(run, '"$@"', *tools(run).fileinfo,
                                                          FILE)}
    inject(run, where["chunk 0"], "lose-chunks")
    time.sleep(2)
    check_before = run.probe("checkfile", run_tool, run, tools(run).checkfile, FILE)[0]
    gentle = None
    if tools(run).repair_correct_only:
        gentle = run.action("filerepair, correct-only", _repair, run,
                            tools(run).repair_correct_only)
        gentle = {"output": gentle, "checkfile_after": run_tool(
            run, tools(run).checkfile, FILE)[0].strip().splitlines()[1:]}
    repair_out = run.action("filerepair", _repair, run, tools(run).filerepair)
    # The writing client may still serve chunk 0 from its cache; a fresh mount shows
    # what the filesystem now holds.
    stale = run.probe("chunk 0 in the writer's cache", _nonzero_bytes, run, FILE)
    fresh = run.probe("the file on a fresh mount", _fresh_mount, run)
    run.action("heal every fault", heal_all, run)
    registered(run)
    time.sleep(3)
    healed = run.probe("chunk 0 once the disk is back (new mount)", _fresh_mount, run)
    sh(run, "umount /mnt/fresh")
    return {"file_size": fresh["size"], "servers": where,
            "checkfile_before": check_before.strip().splitlines()[1:],
            "correct_only_repair": gentle,
            "repair_output": repair_out,
            "chunk0_nonzero_bytes_after": fresh["nonzero"],
            "chunk0_read_after": fresh["sums"][0] if "failed" in fresh["sums"][0] else "read",
            "chunk0_stale_bytes_in_writer_cache": stale,
            "chunk0_changed": before[0] != fresh["sums"][0],
            "chunk1_intact": before[1] == fresh["sums"][1],
            "chunk0_back_after_disk_returns": healed["sums"][0] == before[0],
            "size_unchanged": fresh["size"] == CHUNK + 1048576}


# --- the definitions --------------------------------------------------------------------------

def _down(run: Run) -> None:
    labs.remove_lab(_docker(), tools(run).lab, run.prefix)


def _system(lab: str, description: str) -> System:
    return System(description=description, up=lambda prefix: labs.up(lab, prefix=prefix),
                  down=_down, versions=versions, lab=lab)


SYSTEM = _system("moosefs", "moosefs: master, cs1-cs4, client; chunk storage 1 GiB tmpfs "
                            "per chunkserver")
VARIANTS = (
    _system("moosefs4", "moosefs4: MooseFS 4 from source; master, metalogger, cs1-cs4, "
                        "client; chunk storage 1 GiB tmpfs per chunkserver"),
    _system("lizardfs", "lizardfs: LizardFS 3.13 from source; master, metalogger, cs1-cs4, "
                        "client; chunk storage 1 GiB tmpfs per chunkserver"),
)
STEADY_STATE = (Probe("chunkservers registered with their space", registered, 4),
                Probe("chunks missing (master)", lambda run: classes(run).get("missing", 0), 0))
ROLLBACKS = (Rollback("heal every fault", heal_all),)


def _define(name: str, title: str, method: Any) -> Experiment:
    return Experiment(name, title, SYSTEM, STEADY_STATE, method, ROLLBACKS, VARIANTS)


EXPERIMENTS = {e.name: e for e in (
    _define("servers-lost", "Chunkservers lost versus copies left, goals 1-3", servers_lost),
    _define("restore-goal", "Time to restore goal after losing one chunkserver", restore_goal),
    _define("first-packet-drop", "One node dropping the first packet of every connection",
            first_packet_drop),
    _define("repair-zero-copy", "What filerepair does to a chunk with no copy",
            repair_zero_copy),
)}
