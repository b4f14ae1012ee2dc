"""The shape every lab system has: a name, a start function, its nodes, roles and faults."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..faults import Fault


def no_nodes(prefix: str, node: str) -> str | None:
    """For systems whose containers are named in full only (``bp-nas``)."""
    return None


def same_role(hostname: str) -> str:
    """For systems whose host names are their roles."""
    return hostname


def nothing_else(owner: str | None) -> int:
    """For systems that run nothing outside their labelled containers."""
    return 0


@dataclass(frozen=True)
class System:
    """One lab system.

    start: (docker client, name prefix, **options) -> facts, once ready;
    node: (prefix, node name given to `lab.fault`) -> container name, or None;
    role: container host name -> role;
    faults: role -> fault kind -> Fault, what `lab.fault` may do to each role;
    remove: removes what the system runs outside containers (a VM), of one
    owner or, for None, of every owner; returns how many.
    """

    name: str
    describe: str
    start: Callable[..., dict[str, Any]]
    node: Callable[[str, str], str | None] = no_nodes
    role: Callable[[str], str] = same_role
    faults: Mapping[str, Mapping[str, Fault]] = field(default_factory=dict)
    remove: Callable[[str | None], int] = nothing_else
