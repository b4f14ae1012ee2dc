"""Lab containers never outlive the run that started them: Ctrl-C, SIGTERM, kill -9."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from runbooks.lab import engine

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.lab

CHILD_TEST = textwrap.dedent(
    """
    import time

    def test_holds_a_lab(lab):
        lab.up("nas")
        time.sleep(120)
    """
)


def containers_of(client, owner):
    return client.containers.list(all=True, filters={"label": f"{engine.OWNER_LABEL}={owner}"})


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def start_child_run(tmp_path):
    test_file = tmp_path / "test_child.py"
    test_file.write_text(CHILD_TEST)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.lab_plugin",
         str(test_file)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_run_removes_its_containers(lab, tmp_path, how):
    child = start_child_run(tmp_path)
    owner = f"pid:{child.pid}"
    try:
        wait_for(lambda: any(c.status == "running" for c in containers_of(lab.client, owner)),
                 90, "the child run's lab container")
        child.send_signal(how)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert containers_of(lab.client, owner) == [], child.stdout.read().decode()


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
