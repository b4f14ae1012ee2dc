"""Everything the experiments take from the lab, in one place (runbooks/lab/)."""

from __future__ import annotations

from typing import Any

from ..lab import engine, faults, systems, vm
from ..lab.systems import moosefs as _moosefs

LabError = engine.LabError
client = engine.client
exec_checked = engine.exec_checked
up = systems.up
CHUNKSERVERS: tuple[str, ...] = _moosefs.CHUNKSERVERS
mfs_container = _moosefs.mfs_container
registered_chunkservers = _moosefs.registered_chunkservers
inject, heal, active = faults.inject, faults.heal, faults.active
vm_instance_dir, vm_stop_instance = vm.instance_dir, vm.stop_instance


def remove_lab(cl: Any, system: str, prefix: str) -> None:
    """Remove the containers and networks of one run's lab (names start with ``prefix``)."""
    for container in engine.lab_containers(cl, system):
        if container.name.startswith(prefix + "-"):
            container.remove(force=True)
    engine.remove_networks(cl, [n for n in engine.lab_networks(cl, system)
                                if n.name.startswith(prefix)])
