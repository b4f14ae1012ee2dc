"""Nagios 4 running our checks with check_by_ssh (the nagios lab): each service's state
in Nagios' own status.dat is what the same `bp` command returns when run by hand on
that host, and a host that cannot be reached has every service UNKNOWN (we could not
look), not CRITICAL."""

from __future__ import annotations

import time
from typing import Any

import pytest

from runbooks.core.nagios_status import ServiceStatus, hosts, parse, services
from runbooks.lab import engine
from runbooks.lab.systems import faults_of
from runbooks.lab.systems.nagios import HOSTS, STATUS

pytestmark = pytest.mark.lab
WAIT = 90  # seconds: the lab checks every 15 s; a down host's check waits 5 s for ssh
SERVICES = {"Login cost", "Mount options", "Storage toolchain"}


@pytest.fixture(scope="module")
def nagios(lab):
    facts = lab.up("nagios")
    server = lab.container(facts["container"])
    yield server, {name: lab.container(c) for name, c in facts["hosts"].items()}
    lab.remove_prefix(facts["prefix"])


def _status(server: Any) -> tuple[dict[tuple[str, str], ServiceStatus], dict[str, str]]:
    code, out = server.exec_run(["cat", STATUS])
    assert code == 0, out.decode()
    blocks = parse(out.decode("utf-8", "replace"))
    return ({(s.host, s.service): s for s in services(blocks)},
            {h.host: h.state_name for h in hosts(blocks)})


def _by_hand(host: Any, command: str) -> tuple[int, str]:
    """The service's check run on the host as Nagios runs it: as the nagios user, the
    arguments after ``check_bp!``; exit status and the output Nagios keeps (the first
    line before perfdata, ``;`` turned into ``:`` as Nagios does)."""
    name, _, check = command.partition("!")
    assert name == "check_bp", command
    code, out = host.exec_run(["bp", *check.split(), "--format", "nagios"], user="nagios")
    first = out.decode("utf-8", "replace").splitlines()[0]
    return code, first.split("|")[0].strip().replace(";", ":")


def _checked_since(server: Any, host: str, since: float) -> dict[str, ServiceStatus]:
    """The host's services once Nagios has run each of them after ``since``."""
    found: dict[str, ServiceStatus] = {}

    def fresh() -> bool:
        found.clear()
        found.update({svc: s for (h, svc), s in _status(server)[0].items() if h == host})
        return set(found) == SERVICES and all(s.last_check >= since for s in found.values())

    engine.wait_until(fresh, WAIT, f"Nagios checking {host} again")
    return found


def test_each_service_is_in_the_state_our_check_returns_by_hand(nagios) -> None:
    server, containers = nagios
    for host in HOSTS:
        since = int(time.time())
        expected = {svc: _by_hand(containers[host], s.command)
                    for (h, svc), s in _status(server)[0].items() if h == host}
        assert set(expected) == SERVICES
        for svc, status in _checked_since(server, host, since).items():
            assert (status.state, status.output) == expected[svc], f"{host} {svc}"
    assert set(_status(server)[1].values()) == {"UP"}


def test_a_host_that_is_down_has_every_service_unknown(nagios) -> None:
    server, containers = nagios
    down = containers["host03"]
    fault = faults_of(down)["isolate"]  # every packet dropped: no answer, as when powered off
    since = int(time.time())
    fault.inject(down)
    try:
        found = _checked_since(server, "host03", since + 1)
        for svc, status in found.items():
            assert status.state_name == "UNKNOWN", f"{svc}: {status.output}"
            assert status.output.startswith("SSH connection failed: "), status.output
            assert status.output.endswith("Connection timed out"), status.output
        engine.wait_until(lambda: _status(server)[1]["host03"] == "DOWN", WAIT, "host03 DOWN")
        up = _status(server)[0][("host01", "Login cost")]
        assert up.state_name == "OK", up.output  # the others are still looked at
    finally:
        fault.heal(down)  # type: ignore[misc]
    since = int(time.time())
    for svc, status in _checked_since(server, "host03", since + 1).items():
        assert status.state_name != "UNKNOWN", f"{svc} after heal: {status.output}"
