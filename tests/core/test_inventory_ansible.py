"""Our inventory reading against Ansible's own: ansible-inventory and ansible --list-hosts.

For every inventory in tests/data/inventories, the hosts and each host's address,
port and user must be what Ansible would connect to (its ssh connection reads
ansible_host, then ansible_ssh_host, which wins when both are set; the same for
port and user). --limit patterns must select the hosts `ansible PATTERN
--list-hosts` lists. ansible-core runs from .venv-ansible (scripts/bootstrap.sh
test installs it); nothing here opens a connection.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from runbooks.core.errors import UsageError
from runbooks.core.inventory import load_inventory, select_hosts
from tests.helpers import DATA, REPO

INVENTORIES = sorted((DATA / "inventories").iterdir())
ANSIBLE_BIN = REPO / ".venv-ansible" / "bin"
CONNECTION = {"address": ("ansible_host", "ansible_ssh_host"),
              "port": ("ansible_port", "ansible_ssh_port"),
              "user": ("ansible_user", "ansible_ssh_user")}


def _ansible(tool: str, *args: str) -> str:
    binary = ANSIBLE_BIN / tool
    if not binary.exists():
        pytest.fail(f"{binary.relative_to(REPO)} is missing: run `bash scripts/bootstrap.sh test`")
    env = {**os.environ, "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
           "ANSIBLE_LOCALHOST_WARNING": "False", "ANSIBLE_HOME": str(REPO / ".venv-ansible"),
           "ANSIBLE_NOCOLOR": "1"}
    proc = subprocess.run([str(binary), *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _ansible_hosts(inventory: Path) -> dict[str, dict[str, object]]:
    """Each host's connection values, as Ansible's ssh connection would take them."""
    listing = json.loads(_ansible("ansible-inventory", "-i", str(inventory), "--list"))
    hostvars = listing.get("_meta", {}).get("hostvars", {})
    names: set[str] = set()
    for group, body in listing.items():
        if group != "_meta":
            names |= set(body.get("hosts", []))
    found = {}
    for name in names:
        values = hostvars.get(name, {})
        conn = {}
        for key, candidates in CONNECTION.items():
            defined = [values[c] for c in candidates if values.get(c) is not None]
            conn[key] = defined[-1] if defined else None
        found[name] = {"address": str(conn["address"] or name),
                       "port": int(conn["port"]) if conn["port"] is not None else None,
                       "user": conn["user"]}
    return found


def _ours(inventory: Path) -> dict[str, dict[str, object]]:
    inv = load_inventory(str(inventory))
    return {h.name: {"address": h.address, "port": h.port, "user": h.user}
            for h in inv.hosts.values()}


@pytest.mark.parametrize("inventory", INVENTORIES, ids=lambda p: p.name)
def test_hosts_and_connection_values_match_ansible_inventory(inventory: Path):
    ours, theirs = _ours(inventory), _ansible_hosts(inventory)
    assert sorted(ours) == sorted(theirs)
    for name in theirs:
        assert ours[name] == theirs[name], name


LIMITS = ["web*", "prod:!db", "prod:&eu", "~web[13]", "eu,us,!web1", "&eu", "!db",
          "web[0]", "web[1:2]", "db1:web4", "prod:&eu:!db1", "w?b2,db*"]


def _ansible_limit(inventory: Path, pattern: str) -> set[str]:
    out = _ansible("ansible", "all", "-i", str(inventory), "--limit", pattern, "--list-hosts")
    lines = [line.strip() for line in out.splitlines()]
    return {line for line in lines if line and not line.startswith("hosts (")}


@pytest.mark.parametrize("pattern", LIMITS)
def test_limit_patterns_select_what_ansible_selects(pattern: str):
    inventory = DATA / "inventories" / "patterns.ini"
    inv = load_inventory(str(inventory))
    ours = {spec.split("=")[0] for spec in select_hosts(inv, pattern)}
    assert ours == _ansible_limit(inventory, pattern)


def test_a_limit_file_holds_one_pattern_per_line(tmp_path: Path):
    inventory = DATA / "inventories" / "patterns.ini"
    limit = tmp_path / "retry"
    limit.write_text("web1\ndb*\n\n")
    ours = {spec.split("=")[0] for spec in select_hosts(load_inventory(str(inventory)),
                                                        f"@{limit}")}
    assert ours == _ansible_limit(inventory, f"@{limit}") == {"web1", "db1", "db2"}


@pytest.mark.parametrize(("pattern", "message"), [
    ("nope*", "--limit 'nope*': no such group or host"),
    ("web:!typo", "--limit 'typo': no such group or host"),
    ("web[9]", "--limit 'web[9]': the subscript is past the 4 hosts"),
    ("~web(", "--limit '~web(': not a valid pattern"),
    ("@/nonexistent/file", "--limit @/nonexistent/file: cannot read"),
])
def test_a_pattern_that_matches_nothing_is_an_error_not_a_smaller_run(pattern, message):
    # Ansible only warns here; a change rollout must not go ahead on a typo.
    inv = load_inventory(str(DATA / "inventories" / "patterns.ini"))
    with pytest.raises(UsageError) as caught:
        select_hosts(inv, pattern)
    assert str(caught.value).startswith(message)
