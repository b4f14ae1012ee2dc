"""Ansible inventories (INI and YAML) as host lists, read the way Ansible reads them.

- **Hosts**: names with ranges (``web[01:03]``, ``db-[a:c]``, ``cs[1:9:2]``, several
  ranges in one name) are expanded; ``NAME:PORT`` sets the port of every host it names.
- **Groups**: ``[group:children]`` / ``children:``, ``[group:vars]`` / ``vars:``.
- **Variables**: a host's variables are the ``all`` group's, then those of each group
  it belongs to (directly or through a child group) from the shallowest to the
  deepest (same depth: ``ansible_group_priority``, then the group name), then its own
  host variables; later ones win, as in ``ansible-inventory --list``.
- **Connection**: address, port and user come from ``ansible_host``/``ansible_port``/
  ``ansible_user`` or their older ``ansible_ssh_*`` names, which win when both are set
  (the order Ansible's ssh connection reads them in).
- **--limit**: Ansible's patterns: ``a,b`` (or ``a:b``), globs (``web*``), ``~regex``,
  ``!exclude``, ``&intersect``, subscripts (``web[0]``, ``web[1:2]``) and ``@FILE``
  (one pattern per line). One difference, on purpose: a pattern that matches no group
  and no host is an error naming it, where Ansible warns and goes on; a typo in a
  limit must not quietly widen or narrow a change.

Errors name the file and line. Values are data, never shell: hosts are validated
again when targets are built.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageError

# The connection values and their names, the older ansible_ssh_* last: it wins.
CONNECTION_VARS = {"address": ("ansible_host", "ansible_ssh_host"),
                   "port": ("ansible_port", "ansible_ssh_port"),
                   "user": ("ansible_user", "ansible_ssh_user")}
RANGE = re.compile(r"\[([^\]]*)\]")
BRACKETED_IPV6 = re.compile(r"^\[(?P<address>[0-9A-Fa-f:.]+)\](?::(?P<port>[0-9]+))?$")
SUBSCRIPT = re.compile(
    r"^(?P<expr>.+)\[(?:(?P<index>-?[0-9]+)|(?P<start>[0-9]+):(?P<end>[0-9]*))\]$")


def _range_values(bounds: str, where: str) -> list[str]:
    """The values of one ``[begin:end(:step)]`` range, zero-padded like its begin."""
    parts = bounds.split(":")
    if len(parts) not in (2, 3):
        raise UsageError(f"{where}: host range [{bounds}] must be begin:end or begin:end:step")
    begin, end = parts[0] or "0", parts[1]
    step = parts[2] if len(parts) == 3 else "1"
    if not end:
        raise UsageError(f"{where}: host range [{bounds}] has no end")
    if not step.isdigit() or int(step) == 0:
        raise UsageError(f"{where}: host range [{bounds}] has a bad step {step!r}")
    letters = string.ascii_letters
    if len(begin) == 1 and len(end) == 1 and begin in letters and end in letters:
        first, last = letters.index(begin), letters.index(end)
        if first > last:
            raise UsageError(f"{where}: host range [{bounds}] must have begin <= end")
        return list(letters[first:last + 1:int(step)])
    if not (begin.isdigit() and end.isdigit()):
        raise UsageError(f"{where}: host range [{bounds}] is neither numeric nor one letter "
                         "to one letter")
    width = len(begin) if begin.startswith("0") and len(begin) > 1 else 0
    if width and len(end) != width:
        raise UsageError(f"{where}: host range [{bounds}]: a zero-padded begin needs an end "
                         "of the same length")
    return [str(n).zfill(width) for n in range(int(begin), int(end) + 1, int(step))]


def expand_range(name: str, where: str = "inventory") -> list[str]:
    """Every host name a name with ``[begin:end(:step)]`` ranges stands for, in order."""
    match = RANGE.search(name)
    if not match:
        return [name]
    head, tail = name[:match.start()], name[match.end():]
    return [expanded for value in _range_values(match.group(1), where)
            for expanded in expand_range(head + value + tail, where)]


def is_ipv6(name: str) -> bool:
    return name.count(":") >= 2 and re.fullmatch(r"[0-9A-Fa-f:.]+", name) is not None


def split_host_port(pattern: str) -> tuple[str, str | None]:
    """``NAME[:PORT]`` into its parts; an IPv6 address takes brackets when a port follows."""
    bracketed = BRACKETED_IPV6.match(pattern)
    if bracketed and is_ipv6(bracketed.group("address")):
        return bracketed.group("address"), bracketed.group("port")
    if is_ipv6(pattern):
        return pattern, None
    host, sep, port = pattern.rpartition(":")
    if sep and port.isdigit() and ":" not in RANGE.sub("", host):
        return host, port
    return pattern, None


def expand_host(pattern: str, where: str = "inventory") -> tuple[list[str], str | None]:
    """Host names and port (or None) of a host entry such as ``web[01:03].lan:2222``."""
    if pattern.endswith(":"):
        raise UsageError(f"{where}: host {pattern!r} ends in ':' (a port must follow)")
    name, port = split_host_port(pattern)
    return ([name] if is_ipv6(name) else expand_range(name, where)), port


@dataclass
class InventoryHost:
    name: str
    own: dict[str, Any] = field(default_factory=dict)  # host variables, as written
    vars: dict[str, Any] = field(default_factory=dict)  # with group variables merged in
    groups: set[str] = field(default_factory=set)  # the groups that list it directly

    def _connection(self, key: str) -> Any:
        values = [self.vars[name] for name in CONNECTION_VARS[key] if self.vars.get(name)
                  is not None]
        return values[-1] if values else None

    @property
    def address(self) -> str:
        return str(self._connection("address") or self.name)

    @property
    def port(self) -> int | None:
        value = self._connection("port")
        return int(value) if value is not None and str(value).isdigit() else None

    @property
    def user(self) -> str | None:
        value = self._connection("user")
        return str(value) if value else None

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
    group_vars: dict[str, dict[str, Any]] = field(default_factory=dict)
    declared: set[str] = field(default_factory=set)  # every group named, even with no hosts

    def host(self, name: str) -> InventoryHost:
        return self.hosts.setdefault(name, InventoryHost(name))

    def members(self, group: str, seen: set[str] | None = None) -> list[InventoryHost]:
        """Hosts of ``group`` and of its child groups, in inventory order."""
        if group == "all":
            return list(self.hosts.values())
        if group == "ungrouped":
            return [h for h in self.hosts.values() if not h.groups - {"ungrouped"}]
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
        for children in self.children.values():
            found |= children
        for host in self.hosts.values():
            found |= host.groups
        return (found | {"ungrouped"}) - {"all"}

    def parents(self) -> dict[str, set[str]]:
        """Each group's parent groups (``all`` is everyone's ancestor, not listed)."""
        found: dict[str, set[str]] = {}
        for parent, children in self.children.items():
            for child in children:
                found.setdefault(child, set()).add(parent)
        return found

    def depth(self, group: str, parents: dict[str, set[str]],
              seen: frozenset[str] = frozenset()) -> int:
        """``all`` 0, a top-level group 1, a child one more than its deepest parent."""
        if group == "all":
            return 0
        above = [p for p in parents.get(group, ()) if p not in seen and p != "all"]
        return 1 + max((self.depth(p, parents, seen | {group}) for p in above), default=0)

    def ancestors(self, groups: set[str], parents: dict[str, set[str]]) -> set[str]:
        found, todo = set(), list(groups)
        while todo:
            group = todo.pop()
            if group not in found:
                found.add(group)
                todo += parents.get(group, ())
        return found

    def priority(self, group: str) -> int:
        value = self.group_vars.get(group, {}).get("ansible_group_priority", 1)
        return int(value) if str(value).lstrip("-").isdigit() else 1

    def resolved(self) -> None:
        """Merge group and host variables into each host's ``vars``, Ansible's order."""
        parents = self.parents()
        for host in self.hosts.values():
            direct = host.groups or {"ungrouped"}
            groups = self.ancestors(direct, parents) - {"all"}
            order = sorted(groups, key=lambda g: (self.depth(g, parents), self.priority(g), g))
            merged = dict(self.group_vars.get("all", {}))
            for group in order:
                merged.update(self.group_vars.get(group, {}))
            merged.update(host.own)
            host.vars = merged


def _ini_value(text: str) -> Any:
    """An INI value as Ansible reads one: a whole number stays a number, quotes go."""
    if re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _ini_host(inv: Inventory, section: str, words: list[str], where: str) -> None:
    names, port = expand_host(words[0], where)
    values: dict[str, Any] = {}
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep:
            raise UsageError(f"{where}: expected key=value after the host, found {word!r}")
        values[key] = _ini_value(value)
    for name in names:
        host = inv.host(name)
        if section != "ungrouped":
            host.groups.add(section)
        if port is not None:  # first: the host's own variables may override it
            host.own["ansible_port"] = int(port)
        host.own.update(values)


def _ini_header(inv: Inventory, line: str, where: str) -> tuple[str, str]:
    if not line.endswith("]") or len(line) < 3:
        raise UsageError(f"{where}: unclosed section header {line!r}")
    section, _, kind = line[1:-1].partition(":")
    kind = kind or "hosts"
    if kind not in ("hosts", "children", "vars"):
        raise UsageError(f"{where}: unknown section kind {kind!r}")
    inv.declared.add(section)
    return section, kind


def parse_ini(text: str, source: str = "inventory") -> Inventory:
    inv = Inventory(source)
    section, kind = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        where = f"{source}:{number}"
        if line.startswith("[") and not is_ipv6(split_host_port(line.split()[0])[0]):
            section, kind = _ini_header(inv, line, where)
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
            inv.group_vars.setdefault(section, {})[key.strip()] = _ini_value(value.strip())
        else:
            _ini_host(inv, section, words, where)
    inv.resolved()
    return inv


def _yaml_group(inv: Inventory, name: str, body: Any, where: str) -> None:
    inv.declared.add(name)
    if body is None:
        return
    if not isinstance(body, dict):
        raise UsageError(f"{where}: group {name!r} must be a mapping")
    for pattern, host_vars in (body.get("hosts") or {}).items():
        if host_vars is not None and not isinstance(host_vars, dict):
            raise UsageError(f"{where}: host {pattern!r}: its variables must be a mapping")
        names, port = expand_host(str(pattern), where)
        for host_name in names:
            host = inv.host(host_name)
            if name not in ("all", "ungrouped"):
                host.groups.add(name)
            if port is not None:  # first: the host's own variables may override it
                host.own["ansible_port"] = int(port)
            host.own.update(host_vars or {})
    for key, value in (body.get("vars") or {}).items():
        inv.group_vars.setdefault(name, {})[str(key)] = value
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


# --- --limit patterns ---------------------------------------------------------------------

def split_patterns(limit: str) -> list[str]:
    """``a,b`` into its patterns; without a comma, ``a:b:!c`` too (not inside brackets)."""
    if "," in limit:
        parts = limit.split(",")
    elif split_host_port(limit)[1] is not None or is_ipv6(limit):
        parts = [limit]
    else:
        parts = re.findall(r"(?:[^\s:\[\]]|\[[^\]]*\])+", limit)
    return [p.strip() for p in parts if p.strip()]


def _from_files(patterns: list[str]) -> list[str]:
    """``@FILE`` replaced by the patterns it holds, one per line."""
    found = []
    for pattern in patterns:
        if not pattern.startswith("@"):
            found.append(pattern)
            continue
        try:
            lines = Path(pattern[1:]).read_text().splitlines()
        except OSError as exc:
            raise UsageError(f"--limit {pattern}: cannot read {pattern[1:]}: "
                             f"{exc.strerror or exc}") from None
        found += [line.strip() for line in lines if line.strip()]
    return found


def _matcher(expr: str) -> re.Pattern[str]:
    try:
        return re.compile(expr[1:] if expr.startswith("~") else fnmatch.translate(expr))
    except re.error as exc:
        raise UsageError(f"--limit {expr!r}: not a valid pattern: {exc}") from None


def _subscripted(hosts: list[InventoryHost], match: re.Match[str], pattern: str
                 ) -> list[InventoryHost]:
    try:
        if match.group("index") is not None:
            return [hosts[int(match.group("index"))]]
        start = int(match.group("start"))
        end = int(match.group("end")) if match.group("end") else len(hosts) - 1
        return hosts[start:end + 1]
    except IndexError:
        raise UsageError(f"--limit {pattern!r}: the subscript is past the "
                         f"{len(hosts)} hosts it selects from") from None


def _one_pattern(inv: Inventory, pattern: str, plain: bool = True) -> list[InventoryHost]:
    """Hosts one pattern (without its ! or &) names: groups first, then host names.

    A plain pattern that is a host's name is that host, even when a group has its name.
    """
    if plain and pattern in inv.hosts:
        return [inv.hosts[pattern]]
    subscript = None if pattern.startswith("~") else SUBSCRIPT.match(pattern)
    expr = subscript.group("expr") if subscript else pattern
    if expr in ("all", "*"):
        hosts = list(inv.hosts.values())
    else:
        matcher = _matcher(expr)
        groups = sorted(g for g in inv.groups() if matcher.match(g))
        hosts = [h for g in groups for h in inv.members(g)]
        if not groups or expr.startswith("~") or any(c in expr for c in ".?*["):
            hosts += [h for name, h in inv.hosts.items() if matcher.match(name)]
        if not hosts and not groups:
            raise UsageError(f"--limit {pattern!r}: no such group or host in {inv.source}")
    hosts = list({h.name: h for h in hosts}.values())
    return _subscripted(hosts, subscript, pattern) if subscript else hosts


def _limited(inv: Inventory, limit: str) -> list[InventoryHost]:
    patterns = _from_files(split_patterns(limit))
    if not patterns:
        return []
    plain = [p for p in patterns if p[0] not in "!&"] or ["all"]
    chosen: dict[str, InventoryHost] = {}
    for pattern in plain:
        chosen.update({h.name: h for h in _one_pattern(inv, pattern)})
    for pattern in (p for p in patterns if p[0] == "&"):
        keep = {h.name for h in _one_pattern(inv, pattern[1:], plain=False)}
        chosen = {n: h for n, h in chosen.items() if n in keep}
    for pattern in (p for p in patterns if p[0] == "!"):
        drop = {h.name for h in _one_pattern(inv, pattern[1:], plain=False)}
        chosen = {n: h for n, h in chosen.items() if n not in drop}
    return list(chosen.values())


def select_hosts(inv: Inventory, limit: str | None = None) -> list[str]:
    """Host specs of the inventory, or of the hosts Ansible's ``--limit`` pattern selects.

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
