"""toolchain.check against the toolchain lab: a bare Debian host and one with the tools."""

import json

import pytest

from tests.helpers import run_task

DEBIAN_PACKAGES = {
    "parted": "parted", "lvm": "lvm2", "thin": "thin-provisioning-tools", "lvmcache": "lvm2",
    "bcache": "bcache-tools", "multipath": "multipath-tools", "iscsiadm": "open-iscsi",
    "targetcli": "targetcli-fb", "ceph": "ceph-common",
    "zfs": "zfsutils-linux and zfs-dkms (contrib)",
}
INSTALLED_IN_FULL = ("lvm", "thin", "lvmcache", "bcache", "multipath", "iscsiadm",
                     "targetcli")

pytestmark = pytest.mark.lab


def check_json(container, *args):
    proc = run_task("toolchain.check", "--container", container, "--format", "json", *args)
    return proc, {f["subject"]: f for f in json.loads(proc.stdout)["findings"]}


def exec_ok(container, *argv):
    code, out = container.exec_run(list(argv))
    assert code == 0, out.decode()
    return out.decode()


@pytest.fixture(scope="module")
def toolchain(lab):
    facts = lab.up("toolchain")
    yield facts, lab.container(facts["bare"]), lab.container(facts["full"])
    lab.remove_prefix(facts["prefix"])


def test_bare_host_lists_every_tool_missing_with_its_debian_package(toolchain):
    facts, _, _ = toolchain
    proc, found = check_json(facts["bare"])
    assert proc.returncode == 0, proc.stderr  # nothing required: a listing
    tools = {k: f for k, f in found.items() if k != "cgroups"}
    assert {f["data"]["state"] for f in tools.values()} == {"missing"}
    assert {k: f["data"]["package"] for k, f in tools.items()
            if f["data"]["package"]} == DEBIAN_PACKAGES
    assert found["parted"]["data"]["distribution"] == "Debian GNU/Linux 12 (bookworm)"


def test_full_host_shows_the_tools_installed_with_versions(toolchain):
    facts, _, full = toolchain
    proc, found = check_json(facts["full"])
    assert proc.returncode == 0, proc.stderr
    parted = found["parted"]["data"]
    assert (parted["state"], parted["path"]) == ("usable", "/usr/sbin/parted")
    assert parted["version"] == exec_ok(full, "dpkg-query", "-W", "-f", "${Version}",
                                        "parted").split("-")[0]
    for key in INSTALLED_IN_FULL:
        data = found[key]["data"]
        # usable or unconfirmed: that part depends on the modules of the lab's kernel
        assert data["state"] in ("usable", "unconfirmed"), (key, data)
        assert data["version"] and data["path"].startswith("/usr/"), (key, data)
    for key in ("ceph", "zfs", "flashcache", "vxvm"):
        assert found[key]["data"]["state"] == "missing", key


def test_require_multipath_on_the_bare_host_is_critical_and_names_it(toolchain):
    facts, _, _ = toolchain
    proc = run_task("toolchain.check", "--container", facts["bare"], "--require", "multipath",
                    "--format", "nagios")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout.startswith("TOOLCHAIN CRITICAL - multipath: missing: multipath not "
                                  "found; install multipath-tools |")


def test_listing_without_require_says_what_its_ok_means(toolchain):
    facts, _, _ = toolchain
    proc = run_task("toolchain.check", "--container", facts["bare"], "--tools",
                    "parted,multipath", "--format", "nagios")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith(
        "TOOLCHAIN OK - Storage toolchain: 2 tools checked, nothing required is missing (no "
        "--require given); 2 optional tools not installed |")


def test_an_empty_require_is_exit_3_not_a_check_that_is_ok_for_ever():
    proc = run_task("toolchain.check", "--container", "bp-never-reached", "--require", "",
                    "--format", "nagios")
    assert proc.returncode == 3
    assert proc.stderr.strip() == ("error: --require names no tool: give tool names, comma "
                                   "separated (or leave --require out)")
    assert "Traceback" not in proc.stderr


def test_require_an_unknown_tool_is_a_usage_error(toolchain):
    facts, _, _ = toolchain
    proc = run_task("toolchain.check", "--container", facts["bare"], "--require", "flashcash")
    assert proc.returncode == 3
    assert proc.stderr.strip().startswith("error: unknown tool 'flashcash': choose from ")


def test_unknown_container_is_one_line_and_exit_3():
    proc = run_task("toolchain.check", "--container", "bp-no-such-container", "--format",
                    "nagios")
    assert proc.returncode == 3
    assert proc.stderr.strip() == "error: bp-no-such-container: no such container"
    assert proc.stdout.startswith("TOOLCHAIN UNKNOWN - ")


def test_module_tree_decides_the_kernel_side(toolchain):
    # A module tree made for the test: dm-mod built in, dm-multipath loadable,
    # dm-thin-pool absent. A module the lab's kernel has loaded wins over the tree.
    facts, _, full = toolchain
    tree = "/lib/modules/$(uname -r)"
    exec_ok(full, "sh", "-c", f"mkdir -p {tree} && "
            f"echo kernel/drivers/md/dm-mod.ko > {tree}/modules.builtin && "
            f"echo 'kernel/drivers/md/dm-multipath.ko.xz:' > {tree}/modules.dep")
    try:
        proc, found = check_json(facts["full"], "--require", "multipath,thin")
    finally:
        exec_ok(full, "rm", "-rf", "/lib/modules")

    def loaded(module):
        return full.exec_run(["test", "-d", f"/sys/module/{module}"])[0] == 0

    multipath = found["multipath"]
    assert multipath["data"]["kernel"] == {
        "dm_mod": "loaded" if loaded("dm_mod") else "builtin",
        "dm_multipath": "loaded" if loaded("dm_multipath") else "module"}
    assert multipath["severity"] == "OK"
    thin = found["thin"]
    if loaded("dm_thin_pool"):
        assert thin["severity"] == "OK"
    else:
        assert thin["data"]["state"] == "broken" and thin["severity"] == "CRIT"
        assert "the kernel has no dm_thin_pool" in thin["message"]
        assert proc.returncode == 2


def test_the_probe_writes_nothing_on_the_host(toolchain):
    # targetcli would create ~/.targetcli and `lvm version` /dev/mapper/control:
    # the probe avoids both, and everything else it runs only reads.
    facts, _, full = toolchain
    exec_ok(full, "sh", "-c", "rm -rf /dev/mapper /root/.targetcli && touch /tmp/.marker "
            "&& sleep 1")
    proc = run_task("toolchain.check", "--container", facts["full"])
    assert proc.returncode == 0, proc.stderr
    changed = exec_ok(full, "sh", "-c", "find / -newer /tmp/.marker -not -path '/proc/*' "
                      "-not -path '/sys/*' 2>/dev/null; true")
    assert changed.split() == []
    assert full.exec_run(["test", "-e", "/root/.targetcli"])[0] != 0
    assert full.exec_run(["test", "-e", "/dev/mapper/control"])[0] != 0
