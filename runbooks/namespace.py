"""Assemble the task trees: the monitoring one for ``bp``, the full one for tasks.py.

A monitored host gets the runbooks and the change journal (``bp``); a checkout
also gets the lab, the site build and the test suite (``invoke``). The
monitoring tree never imports the lab or the site code, so ``bp`` stays the
same whether or not those packages are installed next to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Invoke is imported when a tree is built (bp imports it its own way)
    from invoke import Collection

    from .core.taskdef import RunbookTask

# Runbook domains in the order `--list` shows them, then the change journal.
RUNBOOKS = ("mounts", "mfs", "net", "login", "backup", "lvm", "toolchain", "patching")
MONITORING = (*RUNBOOKS, "changes")
# Collections whose module has another name (core.changes is the journal itself).
MODULES = {"changes": "journal_tasks"}


def _collection(name: str) -> Collection:
    """A module's task group (core.taskdef) as Invoke's Collection."""
    return import_module(f"{__package__}.{MODULES.get(name, name)}").ns.to_invoke()


def _tree(collections: Iterable[Collection], tasks: Iterable[RunbookTask] = ()) -> Collection:
    from invoke import Collection

    from .core.entry import typed_tree
    from .core.pipes import quiet_broken_pipe

    # Both entry points come through here, so `… | head` ends quietly for both.
    quiet_broken_pipe()
    ns = Collection()
    for collection in collections:
        ns.add_collection(collection)
    for task in tasks:
        ns.add_task(task.to_invoke())
    return typed_tree(ns)


def monitoring(only: Iterable[str] = MONITORING) -> Collection:
    """The runbooks and ``changes`` (what ``bp`` offers), typed (see core.entry).

    ``only`` names the domains to import, in MONITORING order, when the caller
    knows it needs fewer (``bp mounts.audit`` needs only ``mounts``).
    """
    wanted = set(only)
    return _tree(_collection(name) for name in MONITORING if name in wanted)


def build() -> Collection:
    """Every collection (what tasks.py offers): the site, the lab, the runbooks, the tests."""
    from .testsuite import test

    return _tree((_collection(name) for name in ("site.tasks", "lab", *MONITORING)), [test])
