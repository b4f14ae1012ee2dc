"""Ansible inventories as host lists: groups, children, vars, and errors naming file and line."""

import os

import pytest

from runbooks.core.errors import UsageError
from runbooks.core.inventory import load_inventory, parse_ini, parse_yaml, select_hosts
from runbooks.core.targets import select_targets
from tests.helpers import run_task

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


EMPTY_GROUPS_INI = "[web]\nweb1 ansible_host=127.0.0.1\n[empty]\n[none:children]\nempty\n"


@pytest.mark.parametrize("limit", ["empty", "none", "", ",", " , "])
def test_a_limit_that_selects_no_host_names_the_limit(limit):
    inv = parse_ini(EMPTY_GROUPS_INI, "inv.ini")
    with pytest.raises(UsageError) as caught:
        select_hosts(inv, limit)
    assert str(caught.value) == f"--limit {limit!r} selects no host in inv.ini"


def test_an_empty_yaml_group_is_a_group_that_selects_no_host():
    inv = parse_yaml("all:\n  children:\n    web:\n      hosts:\n        web1:\n    empty:\n",
                     "inv.yml")
    with pytest.raises(UsageError, match=r"^--limit 'empty' selects no host in inv\.yml$"):
        select_hosts(inv, "empty")


def test_an_inventory_without_hosts_is_an_error():
    with pytest.raises(UsageError, match=r"^inv\.ini: the inventory has no hosts$"):
        select_hosts(parse_ini("[web]\n[db]\n", "inv.ini"))


def _invoke(*args):
    env = {k: v for k, v in os.environ.items() if k != "BP_INVENTORY"}
    return run_task(*args, env=env)


@pytest.mark.parametrize("task", [
    ["login.cost", "--format", "nagios"],
    ["mounts.audit", "--format", "nagios"],
    ["login.trim-motd", "--apply"],
])
def test_a_limit_that_selects_nothing_is_unknown_on_the_command_line(tmp_path, task):
    inv = tmp_path / "inv.ini"
    inv.write_text(EMPTY_GROUPS_INI)
    proc = _invoke(*task, "--hosts", f"@{inv}", "--limit", "empty")
    assert proc.returncode == 3
    reason = f"--limit 'empty' selects no host in {inv}"
    assert proc.stderr == f"error: {reason}\n"
    if "nagios" in task:
        assert proc.stdout.splitlines() == [f"{proc.stdout.split()[0]} UNKNOWN - {reason}"]
    else:
        assert proc.stdout == ""


def test_an_empty_limit_without_an_inventory_is_not_this_host():
    proc = _invoke("login.cost", "--limit", "")
    assert proc.returncode == 3
    assert proc.stderr == "error: --limit needs --hosts @INVENTORY\n"


@pytest.mark.parametrize(("name", "hosts"), [
    ("web[01:03].lan", ["web01.lan", "web02.lan", "web03.lan"]),
    ("cs[1:9:4]", ["cs1", "cs5", "cs9"]),
    ("db-[a:c]", ["db-a", "db-b", "db-c"]),
    ("r[1:2]n[a:b]", ["r1na", "r1nb", "r2na", "r2nb"]),
    ("edge[:1]", ["edge0", "edge1"]),
    ("plain", ["plain"]),
])
def test_host_ranges_expand(name, hosts):
    from runbooks.core.inventory import expand_range

    assert expand_range(name) == hosts


@pytest.mark.parametrize(("name", "message"), [
    ("web[01:3]", "a zero-padded begin needs an end of the same length"),
    ("web[1]", "must be begin:end or begin:end:step"),
    ("web[1:]", "has no end"),
    ("web[c:a]", "must have begin <= end"),
    ("web[1:4:0]", "has a bad step"),
    ("web[a:9]", "neither numeric nor one letter"),
])
def test_bad_host_ranges_name_the_file_and_line(name, message):
    with pytest.raises(UsageError, match=rf"^inv\.ini:2: host range .*{message}"):
        parse_ini(f"[web]\n{name}\n", "inv.ini")


def test_ipv6_hosts_and_ports_are_not_ranges():
    inv = parse_ini("[v6]\n[2001:db8::1]:2222\nfe80::1\nhost.lan:2200\n", "inv.ini")
    assert select_hosts(inv) == ["2001:db8::1=[2001:db8::1]:2222", "fe80::1=[fe80::1]",
                                 "host.lan=host.lan:2200"]
