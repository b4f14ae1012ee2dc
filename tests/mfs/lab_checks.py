"""Checks the MooseFS 3, MooseFS 4 and LizardFS lab tests share (issue 14's acceptance).

Each version's test module writes the same hostile file names, stops three of four
chunkservers and hands its own facts to these helpers: the assertions are the same on
every version, only how a version's tools are called differs.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from runbooks.core.render import one_line
from runbooks.lab import faults
from tests.helpers import REPO, run_task

TREE = "/mnt/mfs/t"
# Names a shell would split, expand or run; each version adds one that mimics a line of
# its own checkfile output. `$(touch pwned)` leaves a file called pwned wherever it runs.
HOSTILE = ["with space", "new\nline", "quote'\"", "$(touch pwned)", "semi;colon `id`",
           "  leading", "-dash"]
WRITE_TREE = (
    "import os, sys\n"
    "tree, names = sys.argv[1], sys.argv[2:]\n"
    "os.makedirs(tree, exist_ok=True)\n"
    "for name in names:\n"
    "    open(os.path.join(tree, name), 'wb').write(os.urandom(100000))\n"
)


def invoke(*args: str) -> subprocess.CompletedProcess[str]:
    return run_task(*args, timeout=300)


def write_tree(client: Any, names: Sequence[str], tree: str = TREE) -> list[str]:
    """Write a 100 kB file per name under ``tree`` on the client; their paths."""
    code, out = client.exec_run(["python3", "-c", WRITE_TREE, tree, *names])
    assert code == 0, out
    return [f"{tree}/{name}" for name in names]


def assert_ran_nothing(client: Any) -> None:
    """No hostile name was run as a command: no file called pwned in the client or here."""
    _, out = client.exec_run(["find", "/", "/mnt/mfs", "-xdev", "-name", "pwned"])
    assert out.decode().split() == [], f"a hostile file name ran a command: {out!r}"
    assert not (REPO / "pwned").exists(), "a hostile file name ran a command on the host"


def assert_nagios_names_the_lost(nagios: subprocess.CompletedProcess[str],
                                 lost: Sequence[str]) -> None:
    """Exit 2, CRITICAL, and one long-output line per file with a 0-copy chunk."""
    assert nagios.returncode == 2, nagios.stdout + nagios.stderr
    assert nagios.stdout.startswith("MFS CRITICAL - "), nagios.stdout
    crit = [line for line in nagios.stdout.splitlines()[1:] if line.startswith("[CRIT] ")]
    # [CRIT] TARGET PATH: N chunk(s) with 0 copies ... (a path may hold ": " itself)
    named = [re.match(r"\[CRIT\] \S+ (?P<path>.*): \d+ chunks? with 0 copies ", line)
             for line in crit]
    assert all(named), nagios.stdout
    assert sorted(m.group("path") for m in named if m) == sorted(
        one_line(path) for path in lost), nagios.stdout


def assert_repair_refuses_and_changes_nothing(container: str, target: str,
                                              chunk_list: Callable[[str], bytes | str],
                                              stopped: int) -> list[str]:
    """mfs.repair's dry run, --apply and --apply --allow-erase all refuse (exit 2) while
    ``stopped`` chunkservers are away, and the file's chunk list stays as it was."""
    before = chunk_list(target)
    outputs = []
    for extra in ([], ["--apply"], ["--apply", "--allow-erase"]):
        repair = invoke("mfs.repair", target, "--container", container, *extra)
        assert repair.returncode == 2, repair.stdout + repair.stderr
        refused = [line for line in repair.stdout.splitlines() if line.startswith("REFUSED:")]
        assert refused and refused[0].startswith(
            f"REFUSED: {stopped} chunkserver(s) disconnected from the master"), repair.stdout
        assert "Traceback" not in repair.stderr
        assert chunk_list(target) == before, f"mfs.repair {' '.join(extra)} changed {target}"
        outputs.append(repair.stdout)
    return outputs


def settled_placement(read: Callable[[], dict[str, Any]], copies: int,
                      seconds: float = 180) -> dict[str, Any]:
    """Where each file's chunks are, once every chunk has exactly ``copies`` valid copies.

    Which files a fault leaves without a copy follows from where the copies were when it
    struck. Right after a write, or after a chunkserver came back, the master may still be
    replicating a chunk or removing a surplus copy: a placement read then is not the one
    the fault meets.
    """
    deadline = time.monotonic() + seconds
    while True:
        placement = read()
        failed = {path: str(chunks) for path, chunks in placement.items()
                  if not isinstance(chunks, list)}
        counts = {c.valid_copies for chunks in placement.values() if isinstance(chunks, list)
                  for c in chunks}
        if counts == {copies} and not failed:
            return placement
        assert time.monotonic() < deadline, (
            f"timed out waiting for every chunk to have {copies} copies: {sorted(counts)}"
            f"{f'; the tool failed on {failed}' if failed else ''}")
        time.sleep(1)


def wait_for(what: str, predicate: Callable[[], Any], seconds: float = 90) -> None:
    """Poll ``predicate`` every second until it holds; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(1)


@contextlib.contextmanager
def stopped(servers: Mapping[str, Any], names: Sequence[str] = ("cs2", "cs3", "cs4")
            ) -> Iterator[None]:
    """Chunkservers ``names`` stopped (the acceptance's three of four) for the block, then
    healed whatever the block did."""
    for name in names:
        faults.inject(servers[name], "stop")
    try:
        yield
    finally:
        for name in names:
            faults.heal(servers[name])
