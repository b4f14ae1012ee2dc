"""Ansible inventories (INI and YAML) as host lists for every runbook.

Supported: groups, ``[group:children]`` / ``children:``, ``[group:vars]`` /
``vars:``, and per-host ``ansible_host``, ``ansible_port`` and
``ansible_user`` (also the older ``ansible_ssh_host``/``_port``/``_user``).
Anything else is kept but unused. Errors name the file and line. Values are
data, never shell: hosts are validated again when targets are built.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageError

ALIASES = {"ansible_ssh_host": "ansible_host", "ansible_ssh_port": "ansible_port",
           "ansible_ssh_user": "ansible_user"}


@dataclass
class InventoryHost:
    name: str
    vars: dict[str, str] = field(default_factory=dict)
    groups: set[str] = field(default_factory=set)

    @property
    def address(self) -> str:
        return self.vars.get("ansible_host", self.name)

    @property
    def port(self) -> int | None:
        value = self.vars.get("ansible_port")
        return int(value) if value and str(value).isdigit() else None

    @property
    def user(self) -> str | None:
        return self.vars.get("ansible_user") or None

    def spec(self) -> str:
        """``[user@]address[:port]`` as --host takes it."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return (f"{self.user}@" if self.user else "") + host + (
            f":{self.port}" if self.port else "")


@dataclass
class Inventory:
    source: str
    hosts: dict[str, InventoryHost] = field(default_factory=dict)
    children: dict[str, set[str]] = field(default_factory=dict)
    group_vars: dict[str, dict[str, str]] = field(default_factory=dict)
    declared: set[str] = field(default_factory=set)  # every group named, even with no hosts

    def host(self, name: str) -> InventoryHost:
        return self.hosts.setdefault(name, InventoryHost(name))

    def members(self, group: str, seen: set[str] | None = None) -> list[InventoryHost]:
        """Hosts of ``group`` and of its child groups, in inventory order."""
        if group == "all":
            return list(self.hosts.values())
        seen = seen or set()
        if group in seen:
            return []
        seen.add(group)
        names = {h.name for h in self.hosts.values() if group in h.groups}
        for child in self.children.get(group, ()):
            names |= {h.name for h in self.members(child, seen)}
        return [h for h in self.hosts.values() if h.name in names]

    def groups(self) -> set[str]:
        found = set(self.children) | set(self.group_vars) | self.declared
        for host in self.hosts.values():
            found |= host.groups
        return found

    def resolved(self) -> None:
        """Apply group vars to member hosts (host vars win)."""
        for group, values in self.group_vars.items():
            for host in self.members(group):
                for key, value in values.items():
                    host.vars.setdefault(key, value)


def _norm(key: str) -> str:
    return ALIASES.get(key, key)


def parse_ini(text: str, source: str = "inventory") -> Inventory:
    inv = Inventory(source)
    section, kind = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        where = f"{source}:{number}"
        if line.startswith("["):
            if not line.endswith("]") or len(line) < 3:
                raise UsageError(f"{where}: unclosed section header {line!r}")
            section, _, kind = line[1:-1].partition(":")
            kind = kind or "hosts"
            if kind not in ("hosts", "children", "vars"):
                raise UsageError(f"{where}: unknown section kind {kind!r}")
            inv.declared.add(section)
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError as exc:
            raise UsageError(f"{where}: {exc}") from None
        if kind == "children":
            inv.children.setdefault(section, set()).add(words[0])
        elif kind == "vars":
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                raise UsageError(f"{where}: expected key=value, found {line!r}")
            inv.group_vars.setdefault(section, {})[_norm(key.strip())] = value.strip()
        else:
            host = inv.host(words[0])
            if section != "ungrouped":
                host.groups.add(section)
            for word in words[1:]:
                key, sep, value = word.partition("=")
                if not sep:
                    raise UsageError(f"{where}: expected key=value after the host, found {word!r}")
                host.vars[_norm(key)] = value
    inv.resolved()
    return inv


def _yaml_group(inv: Inventory, name: str, body: Any, where: str) -> None:
    inv.declared.add(name)
    if body is None:
        return
    if not isinstance(body, dict):
        raise UsageError(f"{where}: group {name!r} must be a mapping")
    for host_name, host_vars in (body.get("hosts") or {}).items():
        host = inv.host(str(host_name))
        if name not in ("all", "ungrouped"):
            host.groups.add(name)
        for key, value in (host_vars or {}).items():
            host.vars[_norm(str(key))] = str(value)
    for key, value in (body.get("vars") or {}).items():
        inv.group_vars.setdefault(name, {})[_norm(str(key))] = str(value)
    for child, child_body in (body.get("children") or {}).items():
        if name != "all":
            inv.children.setdefault(name, set()).add(str(child))
        _yaml_group(inv, str(child), child_body, where)


def parse_yaml(text: str, source: str = "inventory") -> Inventory:
    import yaml  # lazy

    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UsageError(f"{source}{line}: YAML error: {problem}") from None
    if not isinstance(doc, dict):
        raise UsageError(f"{source}: an inventory must be a mapping of groups")
    inv = Inventory(source)
    for name, body in doc.items():
        _yaml_group(inv, str(name), body, source)
    inv.resolved()
    return inv


def load_inventory(path: str) -> Inventory:
    """Read an INI or YAML inventory (``@`` prefix allowed, as in ``--hosts @FILE``)."""
    path = path[1:] if path.startswith("@") else path
    file = Path(path)
    try:
        text = file.read_text()
    except OSError as exc:
        raise UsageError(f"cannot read inventory {path}: {exc.strerror or exc}") from None
    if file.suffix in (".yml", ".yaml") or text.lstrip().startswith(("all:", "---")):
        return parse_yaml(text, path)
    return parse_ini(text, path)


def _limited(inv: Inventory, limit: str) -> list[InventoryHost]:
    """Hosts of the groups and hosts that ``limit`` names; every name must exist."""
    chosen: list[InventoryHost] = []
    groups = inv.groups() | {"all"}
    for part in (p.strip() for p in limit.split(",") if p.strip()):
        if part in groups:
            chosen += inv.members(part)
        elif part in inv.hosts:
            chosen.append(inv.hosts[part])
        else:
            raise UsageError(f"--limit {part!r}: no such group or host in {inv.source}")
    return chosen


def select_hosts(inv: Inventory, limit: str | None = None) -> list[str]:
    """Host specs of the inventory, or of the groups/hosts named in ``limit`` (a,b).

    Selecting no host is an error naming the limit (or the empty inventory): a
    run over nothing must not look like a run that found nothing wrong.
    """
    chosen = list(inv.hosts.values()) if limit is None else _limited(inv, limit)
    seen: dict[str, None] = {}
    for host in chosen:  # NAME=SPEC: targets keep the inventory's host names
        seen.setdefault(host.spec() if host.spec() == host.name else f"{host.name}={host.spec()}",
                        None)
    if not seen and limit is not None:
        raise UsageError(f"--limit {limit!r} selects no host in {inv.source}")
    if not seen:
        raise UsageError(f"{inv.source}: the inventory has no hosts")
    return list(seen)
