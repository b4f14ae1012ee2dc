"""The shared target options (runbooks.core.options): one declaration, every task.

Where a value comes from (command line, environment, Invoke's configuration),
which options each kind of task gets, and the refusal of a change that names
more than one target.
"""

import inspect
import subprocess
import sys

import pytest

from runbooks.core.errors import UsageError
from runbooks.core.options import TARGET_DEFAULTS, TargetOptions, option_names
from runbooks.core.targets import DEFAULT_COMMAND_TIMEOUT, DEFAULT_PARALLEL
from runbooks.namespace import build
from tests.helpers import REPO

TREE = build()
CHECKS = ["backup.rear-check", "backup.status", "login.cost", "lvm.health", "mfs.audit",
          "mounts.audit", "patching.openssl", "patching.stale-libs", "toolchain.check"]
CHANGES = ["mfs.repair"]  # one target at a time
ROLLOUTS = ["login.restore-motd", "login.trim-motd", "lvm.extend-pool", "mounts.fix"]
MACHINE_VARS = ("BP_INVENTORY", "BP_KNOWN_HOSTS", "BP_IDENTITY")


@pytest.fixture
def no_machine_defaults(monkeypatch):
    for name in MACHINE_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _parameters(task: str) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(TREE[task].body).parameters)


@pytest.mark.parametrize("task", CHECKS)
def test_a_check_gets_every_target_option_and_no_opts_option(task):
    params = _parameters(task)
    assert [n for n in params if n in TARGET_DEFAULTS] == option_names("many")
    assert "opts" not in params
    wanted = {n: v for n, v in TARGET_DEFAULTS.items() if n in option_names("many")}
    wanted["timeout"] = 30.0 if task == "backup.status" else DEFAULT_COMMAND_TIMEOUT
    assert {n: params[n].default for n in option_names("many")} == wanted


@pytest.mark.parametrize("task", CHANGES)
def test_a_change_gets_the_target_options_but_no_format_or_parallel(task):
    params = _parameters(task)
    assert [n for n in params if n in TARGET_DEFAULTS] == option_names("one")
    assert "format" not in params and "parallel" not in params
    assert params["apply"].default is False


@pytest.mark.parametrize("task", ROLLOUTS)
def test_a_fleet_change_gets_every_target_option_and_the_rollout_ones(task):
    params = _parameters(task)
    assert [n for n in params if n in TARGET_DEFAULTS] == option_names("fleet")
    assert {"canary", "max_failures", "yes", "format", "parallel"} <= set(params)
    assert params["apply"].default is False and params["yes"].default is False


def test_the_command_line_wins_over_environment_and_configuration(no_machine_defaults):
    no_machine_defaults.setenv("BP_KNOWN_HOSTS", "env_known_hosts")
    no_machine_defaults.setenv("BP_IDENTITY", "env_key")
    config = {"targets": {"known_hosts": "cfg_known_hosts", "identity": "cfg_key",
                          "inventory": "@cfg_inventory"}}
    opts = TargetOptions.build("x.y", {"known_hosts": "cli_known_hosts", "identity": None,
                                       "limit": "web"}, config)
    assert (opts.known_hosts, opts.identity, opts.hosts) == (
        "cli_known_hosts", "env_key", "@cfg_inventory")


def test_an_inventory_from_the_environment_serves_limit_only(no_machine_defaults):
    no_machine_defaults.setenv("BP_INVENTORY", "@fleet.ini")
    assert TargetOptions.build("x.y", {"limit": None}).hosts is None
    assert TargetOptions.build("x.y", {"limit": "all"}).hosts == "@fleet.ini"
    config = {"targets": {"inventory": "@other.ini"}}
    assert TargetOptions.build("x.y", {"limit": None}, config).hosts is None


def test_numbers_are_cast_and_unset_options_keep_their_defaults(no_machine_defaults):
    opts = TargetOptions.build("x.y", {"timeout": "7", "parallel": "3"})
    assert (opts.timeout, opts.parallel, opts.connect_timeout) == (7.0, 3, 10.0)
    assert TargetOptions.build("x.y", {}).parallel == DEFAULT_PARALLEL


def test_no_target_means_this_host_and_a_per_call_timeout(no_machine_defaults):
    opts = TargetOptions.build("x.y", {})
    [local] = opts.targets(timeout=45)
    assert local.name == "localhost"
    assert local.command_timeout == 45
    assert opts.timeout == DEFAULT_COMMAND_TIMEOUT  # the options themselves are unchanged


def test_a_change_refuses_more_than_one_target(no_machine_defaults):
    opts = TargetOptions.build("mounts.fix", {"container": "a,b"})
    with pytest.raises(UsageError, match=r"^mounts\.fix changes one target at a time; give "
                       r"one --host, --container or inventory host \(--limit\)$"):
        opts.one_target()


def test_limit_without_an_inventory_anywhere_is_a_usage_error(no_machine_defaults):
    with pytest.raises(UsageError, match=r"^--limit needs --hosts @INVENTORY$"):
        TargetOptions.build("x.y", {"limit": "web"}).targets()


def test_an_inventory_from_invoke_configuration_reaches_the_task(tmp_path, no_machine_defaults):
    inventory = tmp_path / "fleet.ini"
    inventory.write_text("[web]\nweb1 ansible_host=192.0.2.1\n")
    config = tmp_path / "invoke.yaml"
    config.write_text(f"targets:\n  inventory: '@{inventory}'\n")
    proc = subprocess.run([sys.executable, "-m", "invoke", "-f", str(config), "mounts.audit",
                           "--limit", "db", "--format", "nagios"], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 3
    assert proc.stdout == f"MOUNTS UNKNOWN - --limit 'db': no such group or host in {inventory}\n"


def test_a_task_without_an_opts_parameter_cannot_ask_for_targets():
    from runbooks.core.runner import runbook_task

    def audit(c, path=None):
        """A task body that forgot its options object."""

    with pytest.raises(TypeError, match="needs an `opts` parameter"):
        runbook_task(targets="many")(audit)
