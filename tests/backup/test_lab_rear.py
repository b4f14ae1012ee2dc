"""backup.rear-check against Relax-and-Recover 2.7 in the rear lab.

The lab host's layout was saved with `rear savelayout` when the lab started (a
container cannot build the rescue ISO itself: it has no kernel image).
"""

import json
from datetime import UTC, datetime

import pytest

from tests.helpers import run_task

LAYOUT = "/var/lib/rear/layout/disklayout.conf"
CHECKSUMS = "/var/lib/rear/layout/config/files.md5sum"

pytestmark = pytest.mark.lab


def invoke(*args):
    return run_task("backup.rear-check", *args, timeout=180)


def exec_ok(container, *argv):
    code, out = container.exec_run(list(argv))
    assert code == 0, out.decode()
    return out.decode()


def finding(name):
    proc = invoke("--container", name, "--format", "json")
    (only,) = json.loads(proc.stdout)["findings"]
    return proc, only


@pytest.fixture(scope="module")
def rear(lab):
    facts = lab.up("rear")
    yield facts["container"], lab.container(facts["container"])
    lab.remove_prefix(facts["prefix"])


def test_saved_layout_is_ok_and_dated_by_the_layout_file(rear):
    name, container = rear
    proc = invoke("--container", name, "--format", "nagios")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("REAR OK - ReaR rescue image: 1 host checked, all OK |")
    mtime = int(exec_ok(container, "stat", "-c", "%Y", LAYOUT))
    saved = datetime.fromtimestamp(mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    _, ok = finding(name)
    assert ok["message"] == f"layout unchanged since the last rescue image (layout saved {saved})"


def test_added_filesystem_flips_it_to_warning_until_the_layout_is_saved_again(rear):
    name, container = rear
    before = exec_ok(container, "sha256sum", LAYOUT, CHECKSUMS)
    exec_ok(container, "sh", "-c", "truncate -s 64M /srv/data.img && mkfs.ext4 -q /srv/data.img"
            " && mkdir -p /srv/data && mount -o loop /srv/data.img /srv/data")
    try:
        proc = invoke("--container", name, "--format", "nagios")
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert proc.stdout.startswith("REAR WARNING - rescue image: layout changed: run rear "
                                      "mkrescue (disk layout differs from the one saved ")
        # checklayout compares; the saved layout and checksums stay as they were
        assert exec_ok(container, "sha256sum", LAYOUT, CHECKSUMS) == before
        exec_ok(container, "rear", "savelayout")
        assert invoke("--container", name, "--format", "nagios").returncode == 0
    finally:
        exec_ok(container, "umount", "/srv/data")
        exec_ok(container, "rear", "savelayout")


def test_changed_configuration_file_is_named(rear):
    name, container = rear
    exec_ok(container, "cp", "-p", "/etc/rear/local.conf", "/root/local.conf.orig")
    exec_ok(container, "sh", "-c", "echo '# edited by the lab test' >> /etc/rear/local.conf")
    try:
        proc, warn = finding(name)
        assert proc.returncode == 1
        assert warn["message"].endswith("(configuration changed: /etc/rear/local.conf)")
        assert warn["data"]["layout_changed"] is False
    finally:
        exec_ok(container, "cp", "-p", "/root/local.conf.orig", "/etc/rear/local.conf")
    assert invoke("--container", name, "--format", "nagios").returncode == 0


def test_no_saved_layout_is_critical(rear):
    name, container = rear
    exec_ok(container, "mv", "/var/lib/rear/layout", "/var/lib/rear/layout.away")
    try:
        proc = invoke("--container", name, "--format", "nagios")
    finally:
        exec_ok(container, "mv", "/var/lib/rear/layout.away", "/var/lib/rear/layout")
    assert proc.returncode == 2
    assert proc.stdout.startswith("REAR CRITICAL - rescue image: no rescue image layout "
                                  "recorded: rear mkrescue never ran")


def test_host_without_rear_is_one_line_and_unknown(rear):
    name, container = rear
    exec_ok(container, "mv", "/usr/sbin/rear", "/usr/sbin/rear.away")
    try:
        proc = invoke("--container", name, "--format", "nagios")
    finally:
        exec_ok(container, "mv", "/usr/sbin/rear.away", "/usr/sbin/rear")
    assert proc.returncode == 3
    assert proc.stderr.strip() == (f"error: {name}: rear (Relax-and-Recover) is not installed: "
                                   "no rear on PATH or in /usr/sbin")


def test_unknown_container_is_one_line_and_exit_3():
    proc = invoke("--container", "bp-no-such-container")
    assert proc.returncode == 3
    assert proc.stderr.strip() == "error: bp-no-such-container: no such container"
