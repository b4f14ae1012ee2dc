"""Targets: argv without a shell, hostile names refused, timeouts bounded, concurrency bounded."""

import asyncio
import socket
import threading
import time
from pathlib import Path

import pytest

from runbooks.core.errors import TargetError, UsageError
from runbooks.core.targets import (
    LocalTarget,
    SSHTarget,
    parse_ssh_spec,
    run_on_targets,
    select_targets,
)

HOSTILE = "$(touch {marker}); `touch {marker}` ' \" ;touch {marker}"


def test_local_target_passes_hostile_arguments_verbatim(tmp_path):
    marker = tmp_path / "pwned"
    hostile = HOSTILE.format(marker=marker)
    result = asyncio.run(LocalTarget().run(["printf", "%s", hostile]))
    assert result.ok and result.stdout == hostile
    assert not marker.exists()


def test_local_missing_tool_is_a_one_line_target_error():
    with pytest.raises(TargetError, match="command not found: no-such-tool-xyz"):
        asyncio.run(LocalTarget().run(["no-such-tool-xyz"]))


def test_local_command_timeout():
    # The time-out is honoured: the command would take 120 s; the margin holds under load.
    start = time.monotonic()
    with pytest.raises(TargetError, match=r"no answer within 0\.3s"):
        asyncio.run(LocalTarget().run(["sleep", "120"], timeout=0.3))
    assert time.monotonic() - start < 60


def _alive(pid_file) -> bool:
    import os

    pid = int(pid_file.read_text())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text().split()
    return stat[2] != "Z"


def test_local_timeout_ends_a_command_whose_children_hold_its_output(tmp_path):
    # A grandchild that keeps stdout open must neither hold the time-out up nor outlive it.
    pid_file = tmp_path / "grandchild.pid"
    script = f"sleep 120 & echo $! > {pid_file}; wait"
    start = time.monotonic()
    with pytest.raises(TargetError, match=r"no answer within 0\.5s"):
        asyncio.run(LocalTarget().run(["sh", "-c", script], timeout=0.5))
    assert time.monotonic() - start < 60
    assert not _alive(pid_file)


def test_a_cancelled_command_leaves_nothing_running(tmp_path):
    # A sibling call fails, gather gives up, asyncio.run cancels the rest: the long
    # command must be stopped, not left running (nor waited for).
    pid_file = tmp_path / "long.pid"

    async def both() -> None:
        long = LocalTarget().run(["sh", "-c", f"echo $$ > {pid_file}; exec sleep 120"],
                                 timeout=300)
        failing = LocalTarget().run(["no-such-tool-xyz"])
        await asyncio.gather(long, asyncio.sleep(0.5), failing)

    start = time.monotonic()
    with pytest.raises(TargetError, match="command not found"):
        asyncio.run(both())
    assert time.monotonic() - start < 60
    for _ in range(100):  # the kill is sent on cancel; the kernel may take a moment
        if not _alive(pid_file):
            break
        time.sleep(0.1)
    assert not _alive(pid_file)


def test_local_unreadable_file_names_path_and_cause(tmp_path):
    with pytest.raises(TargetError, match=r"cannot read .*/missing: No such file or directory"):
        asyncio.run(LocalTarget().read_file(str(tmp_path / "missing")))


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("nas1", (None, "nas1", None)),
        ("root@nas1.lan:2222", ("root", "nas1.lan", 2222)),
        ("127.0.0.1:22", (None, "127.0.0.1", 22)),
        ("[::1]:2200", (None, "[::1]", 2200)),
        ("ops_user@host-7", ("ops_user", "host-7", None)),
    ],
)
def test_ssh_specs(spec, parsed):
    assert parse_ssh_spec(spec) == parsed


@pytest.mark.parametrize(
    "spec",
    ["$(touch /tmp/x)", "nas;reboot", "a b", "`id`", "-oProxyCommand=x", "h:99999", "h:x",
     "us er@h", "nas..lan", "'quoted'"],
)
def test_hostile_or_broken_host_specs_are_refused_before_any_lookup(spec):
    with pytest.raises(UsageError):
        parse_ssh_spec(spec)


def test_select_targets_defaults_to_local_and_refuses_bad_container_names():
    (target,) = select_targets()
    assert isinstance(target, LocalTarget)
    with pytest.raises(UsageError, match="invalid container name"):
        select_targets(containers="x;rm -rf /")


@pytest.fixture
def silent_listener():
    """A loopback TCP port that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_ssh_connect_timeout_bounds_a_silent_host(silent_listener):
    target = SSHTarget("127.0.0.1", port=silent_listener, connect_timeout=1.0, retries=0)
    start = time.monotonic()
    with pytest.raises(TargetError, match=r"127\.0\.0\.1:.*(no SSH answer within 1s|ssh:)"):
        asyncio.run(target.run(["true"]))
    assert time.monotonic() - start < 60  # honoured: asyncssh alone would wait 120 s


def test_ssh_connect_is_retried_with_backoff(silent_listener):
    target = SSHTarget("127.0.0.1", port=silent_listener, connect_timeout=0.5, retries=2)
    start = time.monotonic()
    with pytest.raises(TargetError, match=r"no SSH answer within 0\.5s \(after 3 attempts\)"):
        asyncio.run(target.run(["true"]))
    took = time.monotonic() - start
    # At least three tries and two pauses; the upper bound only shows the time-outs held
    # (asyncssh alone would wait 120 s), with a margin for a loaded machine.
    assert 3 * 0.5 + 0.5 + 1.0 <= took < 60


def test_ssh_refused_port_is_reported():
    with socket.socket() as probe:  # a loopback port that is surely closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TargetError, match="cannot connect: Connection refused"):
        asyncio.run(SSHTarget("127.0.0.1", port=port, connect_timeout=2).run(["true"]))


class Probe(LocalTarget):
    """A local target that records how many runs overlap."""

    active = 0
    peak = 0

    async def run(self, argv, *, timeout=None):
        Probe.active += 1
        Probe.peak = max(Probe.peak, Probe.active)
        await asyncio.sleep(0.02)
        Probe.active -= 1
        if argv == ["fail"]:
            raise TargetError(f"{self.name}: boom")
        return await super().run(["true"])


def test_run_on_targets_bounds_concurrency_and_isolates_failures():
    Probe.active = Probe.peak = 0
    targets = [Probe(f"t{i}") for i in range(20)]

    async def work(target):
        await target.run(["fail"] if target.name == "t3" else ["ok"])
        return target.name

    results = asyncio.run(run_on_targets(targets, work, parallel=4))
    assert Probe.peak == 4
    assert [t.name for t, _ in results] == [f"t{i}" for i in range(20)]
    errors = {t.name: r for t, r in results if isinstance(r, Exception)}
    assert list(errors) == ["t3"] and "boom" in str(errors["t3"])


def test_parallel_must_be_positive():
    with pytest.raises(UsageError):
        asyncio.run(run_on_targets([LocalTarget()], lambda t: t.run(["true"]), parallel=0))
