"""Pytest plugin: lab containers for tests, and their removal however the run ends.

- Every container a test run starts is labelled ``breaking-point.owner=pid:<pytest pid>``
  (BP_LAB_OWNER is inherited by `invoke` subprocesses too).
- At the start, containers of earlier runs whose process is gone are reaped.
- At the end (pass, fail, Ctrl-C, SIGTERM) this run's containers are removed.
  A run started with SIGINT ignored (a background job of a script, as some CI runners
  start it) cannot be stopped by SIGINT at all: Python then raises no KeyboardInterrupt.
  It leaks nothing; SIGTERM still ends it cleanly through the handler below.
- No engine means the lab tests fail loudly with the reason; they never skip.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
from typing import Any

import pytest

OWNER = f"pid:{os.getpid()}"


class LabSession:
    """Starts lab systems for tests under unique names and removes them all at the end."""

    def __init__(self) -> None:
        from runbooks.lab import engine

        self.engine = engine
        self.client = engine.client()
        self._ids = itertools.count(1)

    def up(self, topology: str) -> dict[str, Any]:
        return self.up_with(topology)

    def up_with(self, topology: str, **options: Any) -> dict[str, Any]:
        from runbooks.lab import systems

        prefix = f"bp-t{os.getpid()}-{next(self._ids)}"
        return {**systems.up(topology, prefix=prefix, **options), "prefix": prefix}

    def remove_prefix(self, prefix: str) -> None:
        """Remove one lab (its containers and network, or its VM) started by ``up``."""
        from runbooks.lab import vm

        vm.stop_instance(vm.instance_dir(prefix))
        mine = [c for c in self.client.containers.list(all=True, filters={
            "label": f"{self.engine.OWNER_LABEL}={OWNER}"}) if c.name.startswith(prefix + "-")]
        self.engine.remove_containers(self.client, mine)
        self.engine.remove_networks(self.client, [
            n for n in self.engine.lab_networks(self.client, owner_value=OWNER)
            if n.name.startswith(prefix + "-") or n.name == prefix + "-mfs"])

    def container(self, name: str) -> Any:
        return self.client.containers.get(name)

    def remove(self, name: str) -> None:
        from docker.errors import NotFound

        with contextlib.suppress(NotFound):
            self.client.containers.get(name).remove(force=True)

    def remove_all(self) -> int:
        from runbooks.lab import vm

        for instance in vm.instances(owner=OWNER):
            vm.stop_instance(instance)
        mine = self.client.containers.list(
            all=True, filters={"label": f"{self.engine.OWNER_LABEL}={OWNER}"}
        )
        removed = self.engine.remove_containers(self.client, mine)
        self.engine.remove_networks(self.client,
                                    self.engine.lab_networks(self.client, owner_value=OWNER))
        return removed


def _engine_or_fail() -> LabSession:
    from runbooks.lab.engine import LabError

    try:
        return LabSession()
    except LabError as exc:
        pytest.fail(f"lab tests need a Docker engine: {exc}", pytrace=False)


def _sigterm_to_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    os.environ["BP_LAB_OWNER"] = OWNER
    # SIGTERM (CI time-outs, `kill`) unwinds like Ctrl-C so fixtures and hooks clean up.
    signal.signal(signal.SIGTERM, _sigterm_to_interrupt)


_session: LabSession | None = None


@pytest.fixture(scope="session")
def lab() -> Any:
    """The lab for this test run. Reaps orphans of killed runs first."""
    global _session
    session = _engine_or_fail()
    session.engine.reap_orphans(session.client)
    from runbooks.lab import vm

    vm.reap_orphans()
    _session = session
    yield session
    session.remove_all()


_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Second line of defence: fixture teardown may not run after an interrupt.
    if _session is not None:
        with contextlib.suppress(Exception):
            _session.remove_all()
    # In CI nothing may be skipped: a skipped lab test is an untested runbook.
    if os.environ.get("CI") and _skipped and session.exitstatus == 0:
        session.exitstatus = 1
        print(f"\nCI: {len(_skipped)} test(s) skipped, which CI does not allow: "
              + ", ".join(_skipped[:5]))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from sybil.integration.pytest import SybilItem

    for item in items:
        if isinstance(item, SybilItem):
            item.add_marker(pytest.mark.lab)
    # Parallel workers (pytest-xdist, one file per worker at a time) finish soonest when
    # the longest files start first: the pages run in several labs, then the lab tests.
    weights: dict[str, int] = {}
    for item in items:
        path = item.nodeid.partition("::")[0]
        weights[path] = weights.get(path, 0) + _weight(item)
    order = {path: rank for rank, path in enumerate(
        sorted(weights, key=lambda path: -weights[path]))}
    items.sort(key=lambda item: order[item.nodeid.partition("::")[0]])


def _weight(item: pytest.Item) -> int:
    """A rough cost of one test: lab starts and blocks run dominate a run's time."""
    from runbooks.site.fences import console_runs

    if item.get_closest_marker("lab") is None:
        return 0
    path = item.path
    if path.suffix == ".md":
        labs = console_runs(path.read_text(encoding="utf-8")).get(
            int(item.nodeid.partition("line:")[2].split(",")[0] or 0)) or [None]
        return 10 * len(labs)
    return 10
