"""lab.up and lab.down as a reader types them: the lab's name prefix, one topology at a time."""

from __future__ import annotations

import os

import pytest

from runbooks.lab import engine
from tests.helpers import run_task

pytestmark = pytest.mark.lab


def mine(prefix: str) -> list[str]:
    """Names of this run's lab containers (the lab plugin sets BP_LAB_OWNER) with ``prefix``."""
    owned = engine.client().containers.list(
        all=True, filters={"label": f"{engine.OWNER_LABEL}={engine.owner()}"}, ignore_removed=True)
    return sorted(c.name for c in owned if c.name.startswith(prefix + "-"))


def test_lab_up_takes_the_prefix_and_lab_down_one_topology():
    prefix = f"ud{os.getpid()}"
    env = dict(os.environ, BP_LAB_PREFIX=prefix)
    try:
        up = run_task("lab.up", "nas", env=env, timeout=600)
        assert up.returncode == 0, up.stdout + up.stderr
        assert mine(prefix), f"lab.up started nothing named {prefix}-…:\n{up.stdout}"
        # the prefix lab.fault finds nodes by is the one lab.up named them with
        assert f"{prefix}-" in up.stdout
        # Invoke 3 cannot parse an optional positional argument (`lab.down nas` is read as
        # a second task called nas): the topology is an option, and the help says so.
        wrong = run_task("lab.down", "nas", env=env)
        assert wrong.returncode != 0 and mine(prefix)
        down = run_task("lab.down", "--topology", "moosefs", env=env)
        assert down.returncode == 0 and mine(prefix), down.stdout + down.stderr
        down = run_task("lab.down", "-t", "nas", env=env)
        assert down.returncode == 0, down.stdout + down.stderr
        assert mine(prefix) == []
    finally:
        for name in mine(prefix):
            engine.client().containers.get(name).remove(force=True)
