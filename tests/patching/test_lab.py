"""patching.stale-libs and patching.openssl against a real libssl3 reinstall in a lab container."""

import json

import pytest

from tests.helpers import run_task

REINSTALL = "dpkg -i /var/cache/lab/libssl3_*.deb >/dev/null"
LIBSSL = "/usr/lib/x86_64-linux-gnu/libssl.so.3"
LIBCRYPTO = "/usr/lib/x86_64-linux-gnu/libcrypto.so.3"
HOSTILE_EXE = "/tmp/py $(echo INJECTED) `id` 'q\"\nnl"
EVIL_DIR = "/tmp/it's \"x\" $(touch /tmp/pwned)"
# A process that maps libssl, a private copy of it under a hostile path (deleted after
# loading), a memfd and a /dev/shm file named like libraries; argv[1] becomes its name.
HOSTILE_CODE = f"""
import ctypes, mmap, os, shutil, ssl, sys, time
open("/proc/self/comm", "w").write(sys.argv[1])
source = next(line.split()[-1] for line in open("/proc/self/maps")
              if line.rstrip().endswith("/libssl.so.3"))
os.makedirs({EVIL_DIR!r}, exist_ok=True)
evil = os.path.join({EVIL_DIR!r}, "libevil.so.1")
shutil.copy(source, evil)
ctypes.CDLL(evil)
os.unlink(evil)
memfd = os.memfd_create("libfake.so")
os.ftruncate(memfd, 4096)
keep = [mmap.mmap(memfd, 4096)]
with open("/dev/shm/libshm.so", "wb") as shm:
    shm.write(bytes(4096))
shm = open("/dev/shm/libshm.so", "r+b")
keep.append(mmap.mmap(shm.fileno(), 4096))
os.unlink("/dev/shm/libshm.so")
open("/tmp/ready-" + str(os.getpid()), "w").close()
time.sleep(3600)
"""

pytestmark = pytest.mark.lab


@pytest.fixture
def tls_host(lab):
    facts = lab.up("patching")
    yield facts, lab.container(facts["container"])
    lab.remove(facts["container"])


def sh(container, script):
    code, out = container.exec_run(["sh", "-c", script])
    assert code == 0, out.decode()
    return out.decode()


def stale(name, *options):
    proc = run_task("patching.stale-libs", "--container", name, *options)
    return proc, (json.loads(proc.stdout) if "json" in options else None)


def problems(doc):
    return {f["subject"]: f for f in doc["findings"] if f["severity"] != "OK"}


def test_before_the_upgrade_nothing_is_stale_and_openssl_is_fine(tls_host):
    facts, _ = tls_host
    proc, _ = stale(facts["container"], "--format", "nagios")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("PATCHING OK - Stale libraries: OK |")
    openssl = run_task("patching.openssl", "--container", facts["container"], "--format", "json")
    assert openssl.returncode == 0, openssl.stdout
    doc = json.loads(openssl.stdout)
    assert {f["subject"] for f in doc["findings"]} >= {"package libssl3", "openssl version",
                                                      LIBCRYPTO}


def test_reinstall_leaves_services_on_the_deleted_library_until_restarted(tls_host):
    facts, container = tls_host
    name = facts["container"]
    tls_pid = int(sh(container, "cat /run/lab-tls.pid"))
    sshd_pid = int(sh(container, "cat /run/sshd.pid"))
    sh(container, REINSTALL)

    proc, doc = stale(name, "--format", "json")
    assert proc.returncode == 2, proc.stderr
    found = problems(doc)
    assert set(found) == {LIBSSL, LIBCRYPTO}
    assert {(p["pid"], p["name"]) for p in found[LIBSSL]["data"]["processes"]} == {
        (tls_pid, "openssl")}
    assert {(p["pid"], p["name"]) for p in found[LIBCRYPTO]["data"]["processes"]} == {
        (tls_pid, "openssl"), (sshd_pid, "sshd")}
    assert found[LIBSSL]["severity"] == "CRIT" and found[LIBSSL]["data"]["package"] == "libssl3"
    assert f"openssl (pid {tls_pid})" in found[LIBSSL]["message"]
    assert "mitigate: restart" in found[LIBSSL]["message"]

    nagios, _ = stale(name, "--format", "nagios", "--library", "libssl")
    assert nagios.returncode == 2
    assert nagios.stdout.startswith(f"PATCHING CRITICAL - {LIBSSL}: deleted but still mapped by "
                                    f"openssl (pid {tls_pid}); package libssl3;")
    assert "libcrypto" not in nagios.stdout.splitlines()[0]
    # No false green: a --library that names nothing any process maps is UNKNOWN.
    filtered, _ = stale(name, "--format", "nagios", "--library", "libfoo")
    assert filtered.returncode == 3, filtered.stdout
    assert filtered.stdout.startswith("PATCHING UNKNOWN - no process maps a library matching "
                                      "libfoo (")

    ssh = run_task("patching.stale-libs", "--host", facts["ssh"], "--known-hosts",
                   facts["known_hosts"], "--identity", facts["identity"], "--format", "json")
    assert ssh.returncode == 2, ssh.stderr
    assert set(problems(json.loads(ssh.stdout))) == {LIBSSL, LIBCRYPTO}

    openssl = run_task("patching.openssl", "--container", name, "--format", "json")
    assert openssl.returncode == 1, openssl.stdout
    assert set(problems(json.loads(openssl.stdout))) == {LIBSSL + " (deleted)",
                                                       LIBCRYPTO + " (deleted)"}

    sh(container, "service ssh restart >/dev/null && service lab-tls restart")
    after, _ = stale(name, "--format", "nagios")
    assert after.returncode == 0, after.stdout
    assert after.stdout.startswith("PATCHING OK - Stale libraries: OK |")
    # libssl is mapped again, in its new copy: nothing stale, and the filter matched.
    after_ssl, doc = stale(name, "--format", "json", "--library", "libssl")
    assert after_ssl.returncode == 0, after_ssl.stdout
    assert doc["findings"][-1]["message"].startswith(
        "no process maps a deleted library matching libssl (")


def test_hostile_process_names_and_paths_are_reported_as_text(lab, tls_host):
    facts, container = tls_host
    code, out = container.exec_run(["cp", "/usr/bin/python3.11", HOSTILE_EXE])
    assert code == 0, out
    container.exec_run([HOSTILE_EXE, "-c", HOSTILE_CODE, "$(touch /tmp/p)"], detach=True)
    container.exec_run(["python3", "-c", HOSTILE_CODE, "a\nb\\c\td"], detach=True)
    lab.engine.wait_until(lambda: sh(container, "ls /tmp").count("ready-") == 2, 30,
                          "hostile processes ready")
    sh(container, REINSTALL)

    proc, doc = stale(facts["container"], "--format", "json")
    assert proc.returncode == 2, proc.stderr
    found = problems(doc)
    evil = EVIL_DIR + "/libevil.so.1"
    assert set(found) == {LIBSSL, LIBCRYPTO, evil}  # memfd and /dev/shm are no libraries
    assert found[evil]["severity"] == "WARN" and found[evil]["data"]["package"] is None
    processes = {p["name"]: p["exe"] for p in found[LIBSSL]["data"]["processes"]}
    assert processes["$(touch /tmp/p)"] == HOSTILE_EXE.replace("\n", "\\012")
    assert "a\\nb\\\\c\td" in processes  # as the kernel escapes it in /proc/PID/status
    assert all("\n" not in f["message"] and "\t" not in f["message"] for f in found.values())
    code, _ = container.exec_run(["sh", "-c", "ls /tmp/p /tmp/pwned 2>/dev/null"])
    assert code != 0, "a hostile name ran a command"
    assert "uid=" not in proc.stdout


def test_unprivileged_scan_is_unknown(tls_host):
    _, container = tls_host
    code, out = container.exec_run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
         "invoke", "patching.stale-libs", "--format", "nagios"], workdir="/src",
        environment={"HOME": "/tmp"})  # nobody cannot read root's home
    assert code == 3, out.decode()
    assert out.decode().startswith("PATCHING UNKNOWN - could not read the memory maps of ")


def test_missing_container_is_unknown_with_one_line():
    proc = run_task("patching.stale-libs", "--container", "bp-no-such-container",
                    "--format", "nagios")
    assert proc.returncode == 3
    assert proc.stderr.strip() == "error: bp-no-such-container: no such container"
