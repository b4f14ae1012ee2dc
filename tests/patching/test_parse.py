"""Patching parsers and judges, fed with output captured in the patching lab.

The scans in tests/data/patching/ were printed by the runbook's own collectors
(STALE_SCAN, OPENSSL_SCAN, dpkg -S) in a `patching` lab container: before and
after `dpkg -i` of the libssl3 package, with hostile process names, and as an
unprivileged user. The *-no-openssl scans ran in a plain debian:bookworm container
(no OpenSSL installed), the *-empty-proc scans in a container with a tmpfs mounted
over /proc (a chroot without /proc looks the same).
"""


import pytest

from runbooks.core.errors import ParseError
from runbooks.core.findings import Severity
from runbooks.patching.judge import judge_openssl, judge_stale, restart_hint
from runbooks.patching.parse import (
    OpenSSLScan,
    Package,
    Process,
    backported_fix,
    compare_debian_versions,
    heartbleed_affected,
    is_replaced_library,
    library_version,
    parse_dpkg_search,
    parse_openssl_scan,
    parse_openssl_version,
    parse_stale_scan,
    printable,
    unit_from_cgroup,
    usr_merge_twin,
)
from tests import helpers

DATA = helpers.DATA / "patching"
LIBCRYPTO = "/usr/lib/x86_64-linux-gnu/libcrypto.so.3"
LIBSSL = "/usr/lib/x86_64-linux-gnu/libssl.so.3"
EVIL = "/tmp/it's \"x\" $(touch /tmp/pwned)/libevil.so.1"


def scan(name):
    return parse_stale_scan((DATA / name).read_text())


def owners():
    return parse_dpkg_search((DATA / "dpkg-search.txt").read_text())


def test_scan_before_the_upgrade_finds_nothing():
    before = scan("stale-scan-before-upgrade.txt")
    assert (before.processes, before.denied, before.stale) == (5, 0, {})
    assert {"libc.so.6", "libssl.so.3", "libcrypto.so.3"} <= before.mapped
    (finding,) = judge_stale("lab", before, {})
    assert finding.severity is Severity.OK
    assert finding.message == "no process maps a deleted library (5 processes read)"


def test_scan_after_the_upgrade_names_sshd_and_the_tls_service():
    after = scan("stale-scan-after-upgrade.txt")
    found = {p.pid: (p.name, p.exe, p.libraries, p.same_root, p.unit)
             for p in after.with_libraries}
    assert found == {
        115: ("sshd", "/usr/sbin/sshd", [LIBCRYPTO], True, None),
        106: ("openssl", "/usr/bin/openssl", [LIBCRYPTO, LIBSSL], True, None),
    }
    assert after.stale[115].mappings[0].inode == 1753992
    assert "libssl.so.3" in after.mapped  # the name is listed, deleted or not


def test_judge_groups_by_library_with_package_and_restart_hint():
    findings = judge_stale("lab", scan("stale-scan-after-upgrade.txt"), owners())
    problems = [(f.subject, f.severity, f.data["package"]) for f in findings if f.subject]
    assert problems == [(LIBCRYPTO, Severity.CRIT, "libssl3"), (LIBSSL, Severity.CRIT, "libssl3")]
    assert findings[0].message == (
        "deleted but still mapped by openssl (pid 106), sshd (pid 115); package libssl3; "
        "mitigate: restart these processes (or the services that run them)")
    assert findings[-1].message == "2 processes of 5 map deleted libraries"
    assert findings[-1].data["stale_processes"] == [106, 115]


def test_library_filter():
    after = scan("stale-scan-after-upgrade.txt")
    only_ssl = judge_stale("lab", after, owners(), libraries=["libssl"])
    assert [f.subject for f in only_ssl if f.subject] == [LIBSSL]
    assert only_ssl[-1].data["stale_processes"] == [106]


def test_a_library_that_is_mapped_but_not_stale_is_ok():
    # OK on purpose: 5 processes were read and libssl is mapped, in its new copy.
    (finding,) = judge_stale("lab", scan("stale-scan-before-upgrade.txt"), owners(),
                             libraries=["libssl"])
    assert finding.severity is Severity.OK
    assert finding.message == "no process maps a deleted library matching libssl (5 processes read)"


def test_a_library_filter_that_matches_nothing_mapped_is_unknown():
    after = scan("stale-scan-after-upgrade.txt")
    (none,) = judge_stale("lab", after, owners(), libraries=["libfoo"])
    assert none.severity is Severity.UNKNOWN
    assert none.message == "no process maps a library matching libfoo (5 processes read)"
    # One unmatched name among found ones: the findings stay, the verdict says what is missing.
    mixed = judge_stale("lab", after, owners(), libraries=["libssl", "libfoo"])
    assert [(f.subject, f.severity) for f in mixed] == [
        (LIBSSL, Severity.CRIT), ("", Severity.UNKNOWN)]
    assert mixed[-1].message == "no process maps a library matching libfoo (5 processes read)"
    # A Debian container without OpenSSL: nothing maps libssl, so nothing can be stale in it.
    (bare,) = judge_stale("bare", scan("stale-scan-no-openssl.txt"), {}, libraries=["libssl"])
    assert bare.severity is Severity.UNKNOWN
    assert bare.message == "no process maps a library matching libssl (1 process read)"


def test_a_scan_of_an_empty_proc_is_unknown():
    # Captured with a tmpfs over /proc (what a chroot without /proc mounted looks like).
    empty = scan("stale-scan-empty-proc.txt")
    assert (empty.processes, empty.denied, empty.mapped) == (0, 0, frozenset())
    (finding,) = judge_stale("chroot", empty, {})
    assert finding.severity is Severity.UNKNOWN
    assert finding.message == "read no process: /proc lists none (is it mounted here?)"


def test_critical_names_can_be_emptied():
    after = scan("stale-scan-after-upgrade.txt")
    warn = judge_stale("lab", after, owners(), critical=[])
    assert {f.severity for f in warn if f.subject} == {Severity.WARN}


def test_without_dpkg_the_package_is_left_out():
    findings = judge_stale("lab", scan("stale-scan-after-upgrade.txt"), None)
    assert "package" not in findings[0].message and findings[0].data["package"] is None


def test_hostile_names_stay_data_and_memory_files_are_not_libraries():
    hostile = scan("stale-scan-hostile.txt")
    by_pid = {p.pid: p for p in hostile.with_libraries}
    assert by_pid[348].name == "$(touch /tmp/p)"
    assert by_pid[348].exe == "/tmp/py $(echo INJECTED) `id` 'q\"\\012nl"
    assert by_pid[355].name == "a\\nb\\\\c\td"  # the kernel escaped \n and \\, not the tab
    assert by_pid[348].libraries == [EVIL, LIBCRYPTO, LIBSSL]
    memory = [m.path for m in by_pid[348].mappings if not is_replaced_library(m.path)]
    assert memory == ["/dev/shm/libshm.so", "/memfd:libfake.so"]
    findings = judge_stale("lab", hostile, owners())
    evil = next(f for f in findings if f.subject == EVIL)
    assert evil.severity is Severity.WARN
    assert evil.message.startswith(
        "deleted but still mapped by $(touch /tmp/p) (pid 348), a\\nb\\\\c\\011d (pid 355); "
        "not installed by a package;")
    assert all("\t" not in f.message and "\n" not in f.message for f in findings)


def test_unreadable_maps_are_unknown_not_ok():
    not_root = scan("stale-scan-not-root.txt")
    assert (not_root.processes, not_root.denied) == (5, 4)
    (finding,) = judge_stale("lab", not_root, {}, libraries=["libfoo"])
    assert finding.severity is Severity.UNKNOWN
    # Unreadable maps say nothing about the filter: it is not called unmatched.
    assert finding.message.startswith("could not read the memory maps of 4 of 5 processes")
    assert "libfoo" not in finding.message


def test_dpkg_search_and_merged_usr_spellings():
    found = owners()
    assert found == {LIBCRYPTO: "libssl3", LIBSSL: "libssl3",
                     "/lib/x86_64-linux-gnu/libc.so.6": "libc6"}
    # libc was recorded as /lib/..., the kernel shows /usr/lib/...: ask both
    assert usr_merge_twin("/usr/lib/x86_64-linux-gnu/libc.so.6") in found
    assert usr_merge_twin("/lib/x86_64-linux-gnu/libc.so.6") == (
        "/usr/lib/x86_64-linux-gnu/libc.so.6")
    assert usr_merge_twin("/opt/app/libfoo.so") is None
    assert parse_dpkg_search("diversion by dash from: /bin/sh\nlibc-bin, libc6: /etc/ld.so.conf.d"
                             "\n") == {"/etc/ld.so.conf.d": "libc-bin, libc6"}


@pytest.mark.parametrize(("lines", "unit"), [
    # cgroup lines in the form systemd writes them (v2, v1 hybrid, a service's sub-cgroup)
    (["0::/system.slice/nginx.service"], "nginx.service"),
    (["1:name=systemd:/system.slice/ssh.service", "0::/"], "ssh.service"),
    (["0::/system.slice/app.service/worker"], "app.service"),
    (["0::/user.slice/user-1000.slice/session-3.scope"], None),
    (["0::/docker/8ef9ee5505e7"], None),
])
def test_unit_from_cgroup(lines, unit):
    assert unit_from_cgroup(lines) == unit


def test_restart_hint_prefers_units():
    nginx = Process(10, "nginx", cgroups=["0::/system.slice/nginx.service"])
    sshd = Process(23, "sshd")
    assert restart_hint([nginx, nginx]) == "systemctl restart nginx.service"
    assert restart_hint([nginx, sshd]) == ("systemctl restart nginx.service; then restart the "
                                           "other processes (or the services that run them)")


@pytest.mark.parametrize("text", ["garbage", "processes\tmany", "12\tsmell\tx",
                                  "12\tmap\t00:6a 1\t/usr/lib/libx.so.1"])
def test_unexpected_scan_lines_are_parse_errors(text):
    with pytest.raises(ParseError):
        parse_stale_scan("processes\t1\ndenied\t0\nlibraries\t0\n" + text + "\n")


def test_a_scan_that_did_not_run_is_an_error():
    with pytest.raises(ParseError, match="no process or library count"):
        parse_stale_scan("")
    with pytest.raises(ParseError, match="no process or library count"):  # no `libraries`
        parse_stale_scan("processes\t1\ndenied\t0\n")
    assert parse_stale_scan("processes\t1\ndenied\t0\nlibraries\t0\n").mapped == frozenset()


def test_printable_escapes_control_characters():
    assert printable("a\tb\x1b[31mc") == "a\\011b\\033[31mc"


# --- OpenSSL and Heartbleed ----------------------------------------------------------------

@pytest.mark.parametrize(("text", "short", "affected"), [
    ("OpenSSL 1.0.1e 11 Feb 2013", "1.0.1e", True),
    ("OpenSSL 1.0.1f 6 Jan 2014", "1.0.1f", True),
    ("OpenSSL 1.0.1 14 Mar 2012", "1.0.1", True),
    ("OpenSSL 1.0.1g 7 Apr 2014", "1.0.1g", False),
    ("OpenSSL 1.0.1u  22 Sep 2016", "1.0.1u", False),
    ("OpenSSL 1.0.2-beta1 24 Feb 2014", "1.0.2-beta1", True),
    ("OpenSSL 1.0.2k-fips  26 Jan 2017", "1.0.2k-fips", False),
    ("OpenSSL 1.0.0t 3 Dec 2015", "1.0.0t", False),
    ("OpenSSL 0.9.8zh 3 Dec 2015", "0.9.8zh", False),
    ("OpenSSL 1.1.1w  11 Sep 2023", "1.1.1w", False),
    ("OpenSSL 3.0.15 3 Sep 2024", "3.0.15", False),
    ("LibreSSL 3.3.6", "3.3.6", False),
])
def test_heartbleed_range(text, short, affected):
    version = parse_openssl_version(text)
    assert version.short == short
    assert heartbleed_affected(version) is affected


def test_openssl_version_prefers_the_library_it_loaded():
    both = "OpenSSL 3.0.20 7 Apr 2026 (Library: OpenSSL 1.0.1f 6 Jan 2014)"
    assert library_version(both).short == "1.0.1f"
    assert parse_openssl_version("openssl: command not found") is None


@pytest.mark.parametrize(("a", "b", "sign"), [
    ("1.0.1e-2+deb7u4", "1.0.1e-2+deb7u5", -1),
    ("1.0.1e-2", "1.0.1e-2+deb7u1", -1),
    ("1.0.1-4ubuntu5.12", "1.0.1-4ubuntu5.9", 1),
    ("3.0.15-1~deb12u1", "3.0.15-1", -1),
    ("1.0~rc1", "1.0", -1),
    ("1:0.9", "2.0", 1),
    ("1.0.1e-2+deb7u5", "1.0.1e-2+deb7u5", 0),
    ("1.0.1f-1", "1.0.1e-2+deb7u5", 1),
])
def test_debian_version_order(a, b, sign):
    result = compare_debian_versions(a, b)
    assert (result > 0) - (result < 0) == sign


def test_known_backports():
    assert backported_fix("1.0.1e-2+deb7u4").fixed == "1.0.1e-2+deb7u5"
    assert backported_fix("1.0.1-4ubuntu5.11").advisory == "USN-2165-1"
    assert backported_fix("1.0.1e-3ubuntu1.2") is None  # a series we hold no data for


def test_lab_inventory_before_the_upgrade_is_ok():
    inventory = parse_openssl_scan((DATA / "openssl-scan-before-upgrade.txt").read_text())
    assert inventory.command.startswith("OpenSSL 3.0.")
    assert [p.name for p in inventory.packages] == ["libssl3", "openssl"]
    assert [(lib.path, lib.processes, lib.deleted) for lib in inventory.libraries] == [
        (LIBCRYPTO, 2, False), (LIBSSL, 1, False)]
    assert inventory.libraries[0].version.numbers[0] == 3
    assert inventory.libraries[1].version is None  # OpenSSL 3 keeps the string in libcrypto
    findings = judge_openssl("lab", inventory)
    assert {f.severity for f in findings} == {Severity.OK}
    assert [f.subject for f in findings] == ["package libssl3", "package openssl",
                                             "openssl version", LIBCRYPTO, LIBSSL]


def test_lab_inventory_after_the_upgrade_warns_about_old_copies():
    inventory = parse_openssl_scan((DATA / "openssl-scan-after-upgrade.txt").read_text())
    findings = judge_openssl("lab", inventory)
    warned = [(f.subject, f.data["processes"]) for f in findings
              if f.severity is Severity.WARN]
    assert warned == [(LIBCRYPTO + " (deleted)", 2), (LIBSSL + " (deleted)", 1)]


def _wheezy(version, libraries=()):
    return OpenSSLScan("OpenSSL 1.0.1e 11 Feb 2013", [Package("libssl1.0.0", version, "ii")],
                       list(libraries), processes=40)


def test_debian_backport_is_ok_and_older_package_critical():
    fixed = {f.subject: f.severity for f in judge_openssl("h", _wheezy("1.0.1e-2+deb7u5"))}
    assert fixed == {"package libssl1.0.0": Severity.OK, "openssl version": Severity.OK}
    vulnerable = {f.subject: f.severity for f in judge_openssl("h", _wheezy("1.0.1e-2+deb7u4"))}
    assert vulnerable == {"package libssl1.0.0": Severity.CRIT,
                          "openssl version": Severity.CRIT}


def test_unknown_packaging_in_range_is_a_warning_not_a_verdict():
    scan_ = OpenSSLScan("OpenSSL 1.0.1e-fips 11 Feb 2013", [], [], processes=40)
    (finding,) = judge_openssl("h", scan_)
    assert finding.severity is Severity.WARN
    assert "backported" in finding.message


def test_private_copy_in_range_is_critical():
    from runbooks.patching.parse import MappedLibrary

    private = MappedLibrary("/opt/vendor/lib/libssl.so.1.0.0", 3, "OpenSSL 1.0.1f 6 Jan 2014",
                            False)
    findings = judge_openssl("h", _wheezy("1.0.1e-2+deb7u5", [private]))
    assert findings[-1].severity is Severity.CRIT
    assert "not a distribution's copy" in findings[-1].message


def test_inventory_without_command_line_is_an_error():
    with pytest.raises(ParseError):
        parse_openssl_scan("package\tii \tlibssl3\t3.0.15-1\n")
    with pytest.raises(ParseError, match="line 2"):
        parse_openssl_scan("command\t-\nnonsense\n")


def test_many_processes_are_capped_in_the_message():
    from runbooks.patching.judge import judge_stale as judge
    from runbooks.patching.parse import Mapping, StaleScan

    workers = {pid: Process(pid, "nginx", cgroups=["0::/system.slice/nginx.service"],
                            mappings=[Mapping("fd:01", 7, LIBSSL)]) for pid in range(10, 17)}
    finding = judge("h", StaleScan(20, 0, workers), {LIBSSL: "libssl3"})[0]
    assert finding.message == (
        "deleted but still mapped by nginx (pids 10, 11, 12, 13, 14 and 2 more; nginx.service); "
        "package libssl3; mitigate: systemctl restart nginx.service")


# No false green for the Heartbleed inventory: what it could not see is UNKNOWN.
def inventory(name):
    return parse_openssl_scan((DATA / name).read_text())


def test_a_host_without_any_openssl_is_unknown_not_ok():
    # debian:bookworm as shipped: no openssl command, no libssl package, nothing mapped.
    (finding,) = judge_openssl("bare", inventory("openssl-scan-no-openssl.txt"))
    assert finding.severity is Severity.UNKNOWN
    assert finding.message == ("found no OpenSSL: no openssl command, no libssl or openssl "
                               "package (dpkg), and no libssl or libcrypto mapped by the 1 "
                               "process read")


def test_an_inventory_that_read_no_process_is_unknown():
    # The patching lab image with a tmpfs over /proc: packages are judged, maps are not.
    findings = judge_openssl("chroot", inventory("openssl-scan-empty-proc.txt"))
    assert [(f.subject, f.severity) for f in findings] == [
        ("package libssl3", Severity.OK), ("package openssl", Severity.OK),
        ("openssl version", Severity.OK), ("", Severity.UNKNOWN)]
    assert findings[-1].message.startswith("read no process: /proc lists none")


def test_an_unprivileged_inventory_is_unknown():
    findings = judge_openssl("lab", inventory("openssl-scan-not-root.txt"))
    assert findings[-1].severity is Severity.UNKNOWN
    assert findings[-1].message == (
        "could not read the memory maps of 6 of 7 processes (run as root): an OpenSSL copy "
        "only they map is not judged")


def test_an_inventory_without_its_maps_line_is_an_error():
    with pytest.raises(ParseError, match="no `maps` line"):
        parse_openssl_scan("command\t-\n")
