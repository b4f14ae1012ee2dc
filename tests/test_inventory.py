"""Ansible inventories as host lists: groups, children, vars, and errors naming file and line."""

import pytest

from runbooks.core.errors import UsageError
from runbooks.core.inventory import load_inventory, parse_ini, parse_yaml, select_hosts
from runbooks.core.targets import select_targets

INI = """
# storage fleet
nas1 ansible_host=127.0.0.1 ansible_port=2201
[nas]
nas2 ansible_host=127.0.0.1 ansible_port=2202 ansible_user=root
nas3 ansible_ssh_host=10.9.9.9
[mfs]
cs1 ansible_port=2222
[storage:children]
nas
mfs
[nas:vars]
ansible_user=backup
"""

YAML = """
all:
  hosts:
    loose:
      ansible_host: 127.0.0.1
  children:
    nas:
      hosts:
        nas2: {ansible_host: 127.0.0.1, ansible_port: 2202, ansible_user: root}
        nas3:
      vars:
        ansible_user: backup
    storage:
      children:
        nas:
"""


def test_ini_groups_children_and_vars():
    inv = parse_ini(INI, "inv.ini")
    assert select_hosts(inv) == ["nas1=127.0.0.1:2201", "nas2=root@127.0.0.1:2202",
                                 "nas3=backup@10.9.9.9", "cs1=cs1:2222"]
    assert select_hosts(inv, "nas") == ["nas2=root@127.0.0.1:2202", "nas3=backup@10.9.9.9"]
    assert select_hosts(inv, "storage") == ["nas2=root@127.0.0.1:2202", "nas3=backup@10.9.9.9",
                                            "cs1=cs1:2222"]
    assert select_hosts(inv, "nas1,mfs") == ["nas1=127.0.0.1:2201", "cs1=cs1:2222"]
    assert [t.name for t in select_targets(select_hosts(inv, "nas"))] == ["nas2", "nas3"]


def test_yaml_inventory():
    inv = parse_yaml(YAML, "inv.yml")
    assert select_hosts(inv, "storage") == ["nas2=root@127.0.0.1:2202", "nas3=backup@nas3"]
    assert select_hosts(inv, "all")[0] == "loose=127.0.0.1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[nas\nnas1\n", "inv.ini:1: unclosed section header"),
        ("[nas]\nnas1 ansible_port\n", "inv.ini:2: expected key=value after the host"),
        ("[nas]\nnas1 ansible_host='unclosed\n", "inv.ini:2: No closing quotation"),
        ("[nas:weird]\n", "inv.ini:1: unknown section kind 'weird'"),
    ],
)
def test_ini_errors_name_file_and_line(text, message):
    with pytest.raises(UsageError, match=message):
        parse_ini(text, "inv.ini")


def test_yaml_error_names_file_and_line():
    with pytest.raises(UsageError, match=r"inv.yml:4: YAML error: expected .,. or .\]."):
        parse_yaml("all:\n  hosts:\n    a: [b\n  c: d\n", "inv.yml")


def test_unknown_limit_and_missing_file_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="--limit 'nope': no such group or host"):
        select_hosts(parse_ini(INI, "inv.ini"), "nope")
    with pytest.raises(UsageError, match=r"cannot read inventory .*missing\.ini"):
        load_inventory(f"@{tmp_path}/missing.ini")


def test_hostile_inventory_values_are_refused_when_targets_are_built(tmp_path):
    marker = tmp_path / "pwned"
    inv = parse_ini(f"evil ansible_host='$(touch {marker})'\n", "inv.ini")
    with pytest.raises(UsageError, match="invalid host name"):
        select_targets(select_hosts(inv))
    assert not marker.exists()
