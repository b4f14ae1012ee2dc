"""Lab systems: named sets of containers (or a VM) that reproduce a failure story.

One module per system, each with a ``SYSTEM`` (see base.System): how it
starts and when it is ready (a readiness check, never a fixed sleep), its
nodes and their roles, and the faults each role takes. They are registered
here, and only here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from .. import engine
from ..faults import Fault
from . import (
    bacula,
    fleet,
    lizardfs,
    monitoring,
    moosefs,
    moosefs4,
    nagios,
    nas,
    patching,
    rear,
    toolchain,
    vm_lvm,
)
from .base import System

SYSTEMS: dict[str, System] = {s.name: s for s in (
    nas.SYSTEM, moosefs.SYSTEM, moosefs4.SYSTEM, lizardfs.SYSTEM, vm_lvm.SYSTEM, bacula.SYSTEM,
    fleet.SYSTEM, patching.SYSTEM, toolchain.SYSTEM, rear.SYSTEM,
    monitoring.SYSTEM, nagios.SYSTEM,
)}


def get(name: str) -> System:
    """The system called ``name``, or LabError naming the ones there are."""
    try:
        return SYSTEMS[name]
    except KeyError:
        raise engine.LabError(
            f"unknown topology {name!r}: choose one of {', '.join(sorted(SYSTEMS))}"
        ) from None


def up(name: str, prefix: str = "bp", **options: Any) -> dict[str, Any]:
    """Start system ``name`` and return its facts once it is ready."""
    system = get(name)
    cl = engine.client()
    start = time.monotonic()
    facts = system.start(cl, prefix, **options)
    facts["seconds"] = round(time.monotonic() - start, 1)
    return facts


def down(name: str | None = None, everything: bool = False) -> int:
    """Remove the labs started by hand (``lab.up``) of system ``name`` (all when None).

    Labs of running test suites and experiments are left alone unless
    ``everything``: they clean up after themselves. With BP_LAB_PREFIX set, only
    the labs of that prefix go (lab.up started them under it).
    """
    if name is not None:
        get(name)
    cl = engine.client()
    containers = engine.lab_containers(cl, name)
    networks = engine.lab_networks(cl, name)
    prefix = os.environ.get("BP_LAB_PREFIX")
    if prefix and not everything:
        containers = [c for c in containers if c.name.startswith(prefix + "-")]
        networks = [n for n in networks if n.name.startswith(prefix + "-")]
    mine = engine.owner()
    if not everything:
        containers = [c for c in containers if c.labels.get(engine.OWNER_LABEL) == mine]
        networks = [n for n in networks
                    if (n.attrs.get("Labels") or {}).get(engine.OWNER_LABEL) == mine]
    removed = engine.remove_containers(cl, containers)
    engine.remove_networks(cl, networks)
    for system in SYSTEMS.values() if name is None else [SYSTEMS[name]]:
        removed += system.remove(None if everything else mine)
    return removed


def node(cl: Any, name: str) -> Any:
    """The container of a lab node: a container name, or a node name of a running system
    (cs4, fd2, host03) in the labs of prefix BP_LAB_PREFIX (default bp)."""
    containers = {c.name: c for c in engine.lab_containers(cl)}
    prefix = os.environ.get("BP_LAB_PREFIX", "bp")  # the test harness runs labs under its own
    if name in containers:
        return containers[name]
    found = sorted({n for s in SYSTEMS.values() if (n := s.node(prefix, name)) in containers})
    if len(found) > 1:  # cs1 of moosefs and of moosefs4, both up
        raise engine.LabError(f"{name!r} is a node of several running labs: "
                              f"{', '.join(found)}; name the container instead")
    if found:
        return containers[found[0]]
    raise engine.LabError(
        f"no lab node {name!r}; running: {', '.join(sorted(containers)) or 'none'}"
    )


def fault_kinds() -> list[str]:
    """Every fault kind some role of some system takes, in the order first declared."""
    kinds: dict[str, None] = {}
    for system in SYSTEMS.values():
        for table in system.faults.values():
            kinds.update(dict.fromkeys(table))
    return list(kinds)


def faults_of(container: Any) -> Mapping[str, Fault]:
    """The faults a lab container's role takes, by its system label and host name."""
    system = SYSTEMS.get(container.labels.get(engine.LABEL, ""))
    if system is None:
        return {}
    hostname = container.attrs.get("Config", {}).get("Hostname", "")
    return system.faults.get(system.role(hostname), {})
