"""Lab containers never outlive the run that started them: Ctrl-C, SIGTERM, kill -9."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from runbooks.lab import engine
from tests.helpers import REPO

pytestmark = pytest.mark.lab

CHILD_TEST = textwrap.dedent(
    """
    import time

    def test_holds_a_lab(lab):
        lab.up("nas")
        time.sleep(600)
    """
)
# The child run starts like one at a terminal, where Ctrl-C reaches a process whose SIGINT
# is at its default. A run started in the background of a script (a CI runner, `cmd &` in
# `sh -c`) inherits SIGINT *ignored*; Python then never turns SIGINT into KeyboardInterrupt,
# the child would sleep on, and the test would fail for a reason no user meets.
CHILD_RUN = (
    "import signal, sys, pytest; "
    "signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.exit(pytest.main(sys.argv[1:]))"
)
INTERRUPTED = 2  # pytest's exit status for a run ended by KeyboardInterrupt
# Bounds that hold on a loaded 2-core machine: the child's pytest start and one container
# start (the image is built beforehand), then pytest's report and the removal.
CHILD_START_TIMEOUT = 180
CHILD_EXIT_TIMEOUT = 120


def containers_of(client, owner):
    return client.containers.list(all=True, filters={"label": f"{engine.OWNER_LABEL}={owner}"})


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def start_child_run(tmp_path, log):
    test_file = tmp_path / "test_child.py"
    test_file.write_text(CHILD_TEST)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    # Output to a file, not a pipe nobody reads until the end: a full pipe would block it.
    return subprocess.Popen(
        [sys.executable, "-c", CHILD_RUN, "-q", "-p", "no:cacheprovider",
         "-p", "tests.lab_plugin", str(test_file)],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
    )


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_run_removes_its_containers(lab, tmp_path, how):
    # On a first run the image build would happen inside the child, within the wait below.
    engine.build_image("nas", lab.client)
    output = tmp_path / "child.log"
    with output.open("wb") as log:
        child = start_child_run(tmp_path, log)
    owner = f"pid:{child.pid}"
    try:
        wait_for(lambda: any(c.status == "running" for c in containers_of(lab.client, owner)),
                 CHILD_START_TIMEOUT, "the child run's lab container")
        child.send_signal(how)
        child.wait(timeout=CHILD_EXIT_TIMEOUT)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        left = containers_of(lab.client, owner)
        engine.remove_containers(lab.client, left)  # a failed run must not leak them
    report = output.read_text(errors="replace")
    assert child.returncode == INTERRUPTED, report
    assert left == [], report


def test_killed_runs_are_reaped_by_the_next_one(lab):
    dead = subprocess.Popen(["true"])
    dead.wait()
    orphan = lab.client.containers.run(
        engine.BASE_IMAGE, ["sleep", "600"], detach=True,
        labels={engine.LABEL: "test", engine.OWNER_LABEL: f"pid:{dead.pid}"},
    )
    alive = lab.client.containers.run(
        engine.BASE_IMAGE, ["sleep", "600"], detach=True,
        labels={engine.LABEL: "test", engine.OWNER_LABEL: f"pid:{os.getpid()}"},
    )
    try:
        assert engine.reap_orphans(lab.client) >= 1
        names = {c.name for c in engine.lab_containers(lab.client, "test")}
        assert orphan.name not in names and alive.name in names
    finally:
        engine.remove_containers(lab.client, [orphan, alive])
