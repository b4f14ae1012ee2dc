"""The vm-lvm lab: a qemu VM with Debian's kernel, lvm2 and four empty disks.

The qemu machinery (image build, boot, instances) is runbooks/lab/vm.py; this
module is the system: its name, start and what `lab.down` removes.
"""

from __future__ import annotations

from typing import Any

from .base import System

NAME = "vm-lvm"


def start(cl: Any, prefix: str, **options: Any) -> dict[str, Any]:
    """Boot the VM (no container: the docker client is not used); facts once SSH answers."""
    from .. import vm

    return vm.start_vm(prefix, **options)


def remove(owner: str | None) -> int:
    """Kill the VMs of one owner (every owner for None) and remove their folders."""
    from .. import vm

    return sum(vm.stop_instance(instance) for instance in vm.instances(owner=owner))


SYSTEM = System(
    NAME,
    "qemu VM (TCG) with Debian's kernel, lvm2 and four empty 1 GiB disks, SSH on "
    "a 127.0.0.1 port",
    start,
    remove=remove,
)
