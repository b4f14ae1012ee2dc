"""Assemble the task tree shared by tasks.py and the ``bp`` command."""

from __future__ import annotations

from invoke import Collection

from .core.entry import quiet_broken_pipe, typed_tree


def build() -> Collection:
    """Every collection, with typed options (see core.entry).

    Both entry points call this, so it also makes `… | head` end quietly for both.
    """
    from . import backup, changes, devtasks, lab, login, lvm, mfs, mounts, patching, toolchain

    quiet_broken_pipe()
    ns = Collection()
    ns.add_collection(devtasks.site)
    ns.add_collection(lab.ns)
    ns.add_collection(mounts.ns)
    ns.add_collection(mfs.ns)
    ns.add_collection(login.ns)
    ns.add_collection(backup.ns)
    ns.add_collection(lvm.ns)
    ns.add_collection(toolchain.ns)
    ns.add_collection(patching.ns)
    ns.add_collection(changes.ns)
    ns.add_task(devtasks.test)
    return typed_tree(ns)
