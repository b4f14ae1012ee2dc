"""Assemble the task tree shared by tasks.py and the ``bp`` command."""

from __future__ import annotations

from invoke import Collection


def build() -> Collection:
    from . import backup, changes, devtasks, lab, login, lvm, mfs, mounts, patching, toolchain

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
    return ns
