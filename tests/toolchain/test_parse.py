"""toolchain.check parsing and judging, on probe output captured from containers.

Where each file in tests/data/toolchain/ comes from: tests/data/toolchain/FORMATS.md.
"""


import pytest

from runbooks.core.errors import ParseError, UsageError
from runbooks.core.findings import Severity
from runbooks.toolchain.judge import (
    TOOL_KEYS,
    TOOLS,
    judge,
    judge_tool,
    ok_text,
    resolve,
    selection,
)
from runbooks.toolchain.parse import distribution_family, parse_os_release, parse_probe
from tests import helpers

DATA = helpers.DATA / "toolchain"


def probe(name):
    return parse_probe((DATA / name).read_text())


def with_os_release(name, os_release_file):
    """A captured probe whose os-release lines are those of another distribution."""
    lines = [line for line in (DATA / name).read_text().splitlines()
             if not line.startswith("os\t")]
    os_lines = ["os\t" + line for line in (DATA / os_release_file).read_text().splitlines()]
    return parse_probe("\n".join([lines[0], *os_lines, *lines[1:]]) + "\n")


def verdicts(p, required=(), only=None):
    return {f.subject: f for f in judge("host", p, list(required), only)}


def test_probe_lines_parse_into_tools_modules_and_cgroups():
    p = probe("debian-ceph-zfs.txt")
    assert p.kernel == "6.18.44-fc-v657" and p.os_release["ID"] == "debian"
    assert p.os_release["PRETTY_NAME"] == "Debian GNU/Linux 12 (bookworm)"
    parted = p.tools["parted"]
    assert parted.path == "/usr/sbin/parted" and parted.exit_status == 0
    assert parted.output[0] == "parted (GNU parted) 3.5"
    assert not p.tools["vxvm"].found and p.tools["vxvm"].exit_status is None
    segtypes = [line.strip() for line in p.tools["lvm"].output]
    assert len(segtypes) == 35 and segtypes[:3] == ["linear", "striped", "zero"]
    assert {"thin-pool", "thin", "cache-pool", "cache", "writecache"} <= set(segtypes)
    assert p.packages == {"lvm2": "2.03.16-2", "bcache-tools": "1.0.8-4"}
    # every module the probe asks about, with the state the capture holds for each
    assert p.modules == dict.fromkeys(["flashcache", "bcache", "dm_mod", "dm_cache",
                                       "dm_thin_pool", "dm_multipath", "iscsi_tcp",
                                       "target_core_mod", "zfs"], "unknown")
    assert [m.mountpoint for m in p.cgroup_mounts] == [
        f"/sys/fs/cgroup/{name}" for name in ("cpu", "cpuacct", "cpuset", "memory", "devices",
                                              "freezer", "blkio", "pids", "systemd")]


def test_installed_tools_show_versions_and_kernel_state():
    found = verdicts(probe("debian-ceph-zfs.txt"))
    assert all(f.severity is Severity.OK for f in found.values()), "nothing required"
    assert list(found) == list(TOOL_KEYS)
    assert (found["parted"].data["state"], found["parted"].data["version"]) == ("usable", "3.5")
    assert found["ceph"].data["version"] == "16.2.15"
    assert found["multipath"].data["version"] == "0.9.4"
    assert found["iscsiadm"].data["version"] == "2.1.8"
    assert found["targetcli"].data["version"] == "2.1.53"
    assert found["thin"].data["version"] == "0.9.0"
    assert found["lvm"].data["version"] == "2.03.16-2"  # from the package database
    assert found["lvmcache"].data["version"] == "2.03.16-2"
    assert found["bcache"].data["version"] == "1.0.8-4"
    # A container sees the host's /sys/module but no /lib/modules tree: not loaded
    # means "cannot tell", not "cannot work".
    assert found["multipath"].data["state"] == "unconfirmed"
    assert found["multipath"].data["kernel"] == {"dm_mod": "unknown", "dm_multipath": "unknown"}
    assert found["bcache"].data["state"] == "unconfirmed"  # `make-bcache -h` exits 1
    zfs = found["zfs"]
    assert zfs.data["state"] == "broken"
    assert "The ZFS modules are not loaded." in zfs.message
    assert found["flashcache"].message.startswith("missing: flashcache_create not found; "
                                                  "no package: flashcache is unmaintained")


def test_required_tools_turn_states_into_severities():
    found = verdicts(probe("debian-ceph-zfs.txt"),
                     required=["parted", "multipath", "zfs", "vxvm"])
    assert found["parted"].severity is Severity.OK
    assert found["multipath"].severity is Severity.WARN
    assert found["zfs"].severity is Severity.CRIT
    assert found["vxvm"].severity is Severity.CRIT
    assert "commercial: Veritas InfoScale" in found["vxvm"].message
    assert found["ceph"].severity is Severity.OK  # not required: only listed


def test_only_limits_the_listing_but_required_tools_stay():
    found = verdicts(probe("debian-ceph-zfs.txt"), required=["zfs"], only=["parted"])
    assert list(found) == ["parted", "zfs"]


def test_debian_package_names_for_missing_tools():
    found = verdicts(probe("debian-cgroup2-no-io.txt"))
    messages = {k: f.message for k, f in found.items() if f.data["state"] == "missing"}
    assert messages["multipath"] == "missing: multipath not found; install multipath-tools"
    assert messages["iscsiadm"] == "missing: iscsiadm not found; install open-iscsi"
    assert messages["thin"] == "missing: thin_check not found; install thin-provisioning-tools"
    assert messages["targetcli"] == "missing: targetcli not found; install targetcli-fb"
    assert messages["zfs"].endswith("install zfsutils-linux and zfs-dkms (contrib)")


def test_cgroup_v2_without_io_controller_is_broken():
    p = probe("debian-cgroup2-no-io.txt")
    assert p.cgroup_fs == "cgroup2fs"
    cgroups = verdicts(p, required=["cgroups"])["cgroups"]
    assert cgroups.data["state"] == "broken" and cgroups.severity is Severity.CRIT
    assert cgroups.data["version"] == "v2 (cgroup2fs)"
    assert "no I/O controller (controllers: hugetlb)" in cgroups.message


def test_cgroup_v1_with_blkio_is_usable():
    cgroups = verdicts(probe("debian-ceph-zfs.txt"))["cgroups"]
    assert cgroups.data["state"] == "usable"
    assert cgroups.data["version"] == "v1 (tmpfs)"
    assert "blkio" in cgroups.message


def test_ubuntu_is_debian_family_with_its_own_zfs_package():
    p = probe("ubuntu-jammy-some.txt")
    assert p.os_release["ID"] == "ubuntu" and distribution_family(p.os_release) == "debian"
    found = verdicts(p)
    assert found["parted"].data["version"] == "3.4"
    assert found["iscsiadm"].data["version"] == "2.1.5"
    assert found["zfs"].data["package"] == "zfsutils-linux"
    assert found["multipath"].message.endswith("install multipath-tools")


@pytest.mark.parametrize("os_release", ["os-release-rocky-9.txt", "os-release-fedora-42.txt"])
def test_rhel_family_gets_rhel_package_names(os_release):
    p = with_os_release("debian-cgroup2-no-io.txt", os_release)
    assert distribution_family(p.os_release) == "rhel"
    found = verdicts(p)
    packages = {k: found[k].data["package"] for k in
                ("multipath", "iscsiadm", "thin", "targetcli", "lvm", "ceph", "zfs")}
    assert packages == {
        "multipath": "device-mapper-multipath", "iscsiadm": "iscsi-initiator-utils",
        "thin": "device-mapper-persistent-data", "targetcli": "targetcli", "lvm": "lvm2",
        "ceph": "ceph-common", "zfs": "zfs (OpenZFS repository)",
    }
    assert found["multipath"].message == (
        "missing: multipath not found; install device-mapper-multipath")


def test_unknown_family_names_both_package_sets():
    os_release = parse_os_release('NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\n')
    assert distribution_family(os_release) == "other"
    p = probe("debian-cgroup2-no-io.txt")
    p.os_release = os_release
    multipath = judge_tool(next(t for t in TOOLS if t.key == "multipath"), p)
    assert multipath.package == ("Debian/Ubuntu: multipath-tools; "
                                 "Fedora/RHEL: device-mapper-multipath")


def test_os_release_quoting():
    parsed = parse_os_release((DATA / "os-release-rocky-9.txt").read_text())
    assert parsed["ID_LIKE"] == "rhel centos fedora"
    assert parsed["PRETTY_NAME"] == "Rocky Linux 9.3 (Blue Onyx)"
    assert parse_os_release("# comment\nVERSION_CODENAME=\"\"\nID='x y'\n") == {
        "VERSION_CODENAME": "", "ID": "x y"}


def test_module_tree_states_decide_usable_and_broken():
    found = verdicts(probe("full-module-tree.txt"), required=["multipath", "thin", "lvm"])
    assert found["multipath"].data["kernel"] == {"dm_mod": "builtin", "dm_multipath": "module"}
    assert found["multipath"].data["state"] == "usable"
    assert found["multipath"].severity is Severity.OK
    assert found["lvm"].data["state"] == "usable"
    thin = found["thin"]
    assert thin.data["state"] == "broken" and thin.severity is Severity.CRIT
    assert "the kernel has no dm_thin_pool" in thin.message


@pytest.mark.parametrize("text", [
    "",  # nothing came back: not a host without tools
    "kernel\t6.1.0\ntool\tparted\tparted\n",
    "kernel\t6.1.0\nkmod\tdm_mod\tmaybe\n",
    "kernel\t6.1.0\ntool\tparted\tparted\t/usr/sbin/parted\tx\t\n",
    "os\tID=debian\n",
    "kernel\t6.1.0\nsomething else\n",
])
def test_unexpected_probe_output_is_a_parse_error(text):
    with pytest.raises(ParseError):
        parse_probe(text)


def test_tool_names_resolve_through_aliases():
    assert resolve(["multipath-tools", "open-iscsi", "thin_check", "lvm2", "PARTED"]) == [
        "multipath", "iscsiadm", "thin", "lvm", "parted"]
    with pytest.raises(UsageError, match="unknown tool 'flashcash'"):
        resolve(["flashcash"])


def test_task_has_a_docstring_and_help_for_each_option():
    from runbooks.namespace import build

    task = build()["toolchain.check"]
    assert task.__doc__ and len(task.__doc__.strip()) > 20
    missing = [p.name for p in task.get_arguments() if not p.help]
    assert not missing


# What OK means. Without --require every tool is only listed; a summary saying
# "all OK" under a column of "missing" read as a clean bill of health.


def test_ok_without_require_says_nothing_was_required_and_counts_what_is_missing():
    wanted = ["parted", "lvm", "thin", "multipath", "iscsiadm", "targetcli"]
    findings = judge("host", probe("debian-bare.txt"), [], wanted)
    assert {f.data["state"] for f in findings} == {"missing"}
    assert all(f.severity is Severity.OK for f in findings)
    assert ok_text(findings) == ("nothing required is missing (no --require given); "
                                 "6 optional tools not installed")


def test_ok_with_require_says_the_required_tools_are_usable():
    findings = judge("host", probe("debian-ceph-zfs.txt"), ["parted"], ["parted", "ceph"])
    assert ok_text(findings) == "every required tool is usable"
    findings = judge("host", probe("debian-ceph-zfs.txt"), ["parted"], None)
    # flashcache and vxvm are not there, zfs has no kernel module, the rest run in a
    # container that cannot see the host's module tree.
    assert ok_text(findings) == ("every required tool is usable; 2 optional tools not "
                                 "installed; 1 optional tool broken; 7 optional tools "
                                 "unconfirmed")


@pytest.mark.parametrize("option", ["require", "tools"])
@pytest.mark.parametrize("value", ["", ",", " , "])
def test_an_option_that_names_no_tool_is_an_error_not_an_empty_selection(option, value):
    # `--require "$TOOLS"` with TOOLS unset would otherwise be a check that is OK for ever.
    with pytest.raises(UsageError, match=f"^--{option} names no tool"):
        selection(**{"require": None, "tools": None, option: value})


def test_selection_without_options_lists_every_tool_and_requires_none():
    assert selection(None, None) == ([], None)
    assert selection("thin_check", "parted,lvm2") == (["thin"], ["parted", "lvm"])
