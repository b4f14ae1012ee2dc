"""The nagios lab: Nagios 4 running our checks on fleet-like hosts with check_by_ssh.

``nagios`` runs Debian's Nagios 4 (nagios4-core) with the monitoring plugins;
its configuration is Debian's with the lab's short intervals (images/nagios:
interval_length=1, so intervals count in seconds) and our objects in
/etc/nagios4/conf.d: the check_by_ssh command and one service per check on the
hostgroup ``bp-fleet``, and the hosts file this module writes. ``host01`` ..
``host03`` are sshd hosts like the fleet lab's, with ``bp`` running from the
checkout; the server's nagios user logs in with its own key, and the hosts'
keys go into its known_hosts from the hosts themselves (out of band, as a
provisioning record would), so StrictHostKeyChecking stays on. A host takes
the fleet's faults: ``isolate`` makes it unreachable, like a host that is down.
"""

from __future__ import annotations

from typing import Any

from .. import engine
from ..faults import daemon_faults, network_faults
from .base import System
from .fleet import SSHD

NAME = "nagios"
HOSTS = ("host01", "host02", "host03")
HOSTGROUP = "bp-fleet"
STATUS = "/var/lib/nagios4/status.dat"
NAGIOS_SSH = "/var/lib/nagios/.ssh"
HOSTS_CFG = "/etc/nagios4/conf.d/breaking-point-hosts.cfg"
READY_SECONDS = 60  # Nagios' first run of every service, three SSH logins per host


def container_name(prefix: str, node: str) -> str | None:
    """nagios -> PREFIX-nagios-server, host01 -> PREFIX-nagios-host01."""
    if node == "nagios":
        return f"{prefix}-{NAME}-server"
    return f"{prefix}-{NAME}-{node}" if node in HOSTS else None


def role(hostname: str) -> str:
    """host01..host03 are monitored hosts; the server is ``nagios``."""
    return "host" if hostname.startswith("host") else hostname


def hosts_cfg(hosts: list[str]) -> str:
    """Nagios host objects, one per monitored host, members of the bp-fleet hostgroup."""
    blocks = [f"define host {{\n    use         bp-host\n    host_name   {host}\n"
              f"    address     {host}\n    hostgroups  {HOSTGROUP}\n}}\n" for host in hosts]
    return "# Written by the nagios lab (runbooks/lab/systems/nagios.py).\n\n" + "\n".join(blocks)


def _host_keys(container: Any) -> str:
    """known_hosts lines (``NAME TYPE KEY``) for every host key, read on the host itself.

    Every type, not just one: ssh's UpdateHostKeys would otherwise add the others
    to known_hosts on the first login and print that on stderr, which
    check_by_ssh takes as a failed check.
    """
    engine.wait_until(lambda: container.exec_run(
        ["test", "-s", "/etc/ssh/ssh_host_ed25519_key.pub"])[0] == 0, 20,
        f"{container.name} host key")
    text = engine.exec_checked(container, ["sh", "-c", "cat /etc/ssh/ssh_host_*_key.pub"],
                               f"{container.name}: host keys")
    name = container.attrs["Config"]["Hostname"]
    return "".join(f"{name} {' '.join(line.split()[:2])}\n" for line in text.splitlines()
                   if line.strip())


def checked_all(server: Any) -> bool:
    """True once Nagios has run every service of the lab's hosts at least once."""
    from ...core.nagios_status import parse, services

    code, out = server.exec_run(["cat", STATUS])
    if code != 0:
        return False
    found = [s for s in services(parse(out.decode("utf-8", "replace")))
             if s.host in HOSTS]
    return bool(found) and all(s.checked for s in found)


def _trust(server: Any, hosts: list[Any]) -> None:
    """The nagios user's key on each host; each host's key in the server's known_hosts."""
    public = engine.exec_checked(server, ["nagios-server", "key"], f"{server.name}: key")
    for host in hosts:
        engine.wait_until(lambda h=host: h.exec_run(["test", "-d", NAGIOS_SSH])[0] == 0, 20,
                          f"{host.name}: {NAGIOS_SSH}")
        # sshd reads authorized_keys as the user: root's file, readable by all
        engine.put_file(host, NAGIOS_SSH, "authorized_keys", public.encode(), 0o644)
    known = "".join(_host_keys(h) for h in hosts)
    engine.put_file(server, NAGIOS_SSH, "known_hosts", known.encode(), 0o644)
    # the nagios user's own file, as ssh expects (it may record a rotated key there)
    engine.exec_checked(server, ["chown", "nagios:nagios", f"{NAGIOS_SSH}/known_hosts"],
                        f"{server.name}: known_hosts owner")


def start(cl: Any, prefix: str, **_: Any) -> dict[str, Any]:
    """Nagios and three sshd hosts on their own network; ready once every service ran."""
    image = engine.build_image(NAME, cl)
    net_name = f"{prefix}-{NAME}"
    engine.network(cl, net_name, NAME)
    hosts = [engine.run_container(
        cl, image, f"{prefix}-{NAME}-{name}", NAME, hostname=name, network=net_name,
        command=["nagios-host"], volumes=engine.repo_mount(),
        cap_add=["NET_ADMIN"],  # iptables for the fleet's network faults
    ) for name in HOSTS]
    server = engine.run_container(cl, image, f"{prefix}-{NAME}-server", NAME,
                                  hostname="nagios", network=net_name,
                                  volumes=engine.repo_mount())
    for container in (*hosts, server):
        engine.wait_until(lambda c=container: engine.running(c), 20, f"{container.name} running")
    _trust(server, hosts)
    engine.put_file(server, HOSTS_CFG.rsplit("/", 1)[0], HOSTS_CFG.rsplit("/", 1)[1],
                    hosts_cfg(list(HOSTS)).encode(), 0o644)
    engine.exec_checked(server, ["nagios-server", "start"], f"{server.name}: nagios")
    engine.wait_until(lambda: checked_all(server), READY_SECONDS,
                      "Nagios' first run of every service")
    return {"shell": server.name, "container": server.name, "network": net_name,
            "hosts": {name: c.name for name, c in zip(HOSTS, hosts, strict=True)},
            "status": STATUS}


SYSTEM = System(
    NAME,
    "Nagios 4 running our checks by check_by_ssh on 3 sshd hosts (host01..host03)",
    start,
    node=container_name,
    role=role,
    faults={"host": {**daemon_faults(SSHD), **network_faults()}},
)
