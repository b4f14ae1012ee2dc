"""Faults injected into one lab node, each reversible with heal.

This module holds the mechanics every system shares: daemons stopped, killed
and started again, the network faults, a filled data volume, new SSH host
keys, and the bookkeeping of what is active. Which faults a node takes is up
to its system (runbooks/lab/systems/): a table from the node's role to its
faults, looked up through the container's lab label and host name.

Network faults live in an iptables chain of their own (BP_FAULT) inside the
node's network namespace, on its lab interface only, so healing is flushing
that chain and nothing else of the node is touched. Every injected fault is
listed in /run/bp-faults in the node, so `lab.heal NODE` knows what to undo.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .engine import LabError, exec_checked

FAULT_FILE = "/run/bp-faults"
CHAIN = "BP_FAULT"


@dataclass(frozen=True)
class Fault:
    """One kind of fault on one role: what it does, how to do it and how to undo it."""

    description: str
    inject: Callable[[Any], None]
    # None: an event rather than a state (a canceled job): nothing to heal, not recorded.
    heal: Callable[[Any], None] | None


@dataclass(frozen=True)
class Daemon:
    """The daemon a role runs: its process name, how to stop it cleanly, how to start it."""

    process: str
    stop: tuple[str, ...]
    start: tuple[str, ...]


# Sets up the chain and hooks it into INPUT and OUTPUT for eth0 (not loopback,
# so Docker's embedded DNS keeps working). Constant: nothing is interpolated.
_CHAIN_SETUP = f"""
iptables -N {CHAIN} 2>/dev/null || true
iptables -C INPUT -i eth0 -j {CHAIN} 2>/dev/null || iptables -I INPUT -i eth0 -j {CHAIN}
iptables -C OUTPUT -o eth0 -j {CHAIN} 2>/dev/null || iptables -I OUTPUT -o eth0 -j {CHAIN}
"""

# The switch bug of the story: the first packet of every new connection is lost,
# its retransmission (TCP SYN after ~1 s) gets through. Keyed by peer address.
_FIRST_PACKET = f"""
iptables -A {CHAIN} -i eth0 -m conntrack --ctstate NEW -m recent --name bpfp_in --rsource \\
    --rcheck --seconds 2 -j RETURN
iptables -A {CHAIN} -i eth0 -m conntrack --ctstate NEW -m recent --name bpfp_in --rsource \\
    --set -j DROP
iptables -A {CHAIN} -o eth0 -m conntrack --ctstate NEW -m recent --name bpfp_out --rdest \\
    --rcheck --seconds 2 -j RETURN
iptables -A {CHAIN} -o eth0 -m conntrack --ctstate NEW -m recent --name bpfp_out --rdest \\
    --set -j DROP
"""

_ISOLATE = f"""
iptables -A {CHAIN} -i eth0 -j DROP
iptables -A {CHAIN} -o eth0 -j DROP
"""

# Leave no free byte on a data volume (a tmpfs of fixed size): a chunkserver's
# chunk folder or a storage daemon's volume folder ($1).
_FILL = """
avail=$(df --output=avail -B1 "$1" | tail -n 1)
fallocate -l "$avail" "$1/bp-fill" 2>/dev/null \
    || dd if=/dev/zero of="$1/bp-fill" bs=1M status=none || true
"""

# A slow link: Linux's netem is not in every kernel (not in ours), so slowness is a
# token-bucket rate limit on what the node sends: an SSH handshake takes seconds.
_SLOW = "tc qdisc replace dev eth0 root tbf rate 24kbit burst 3kb latency 2s"
_WRONG_KEY = """
mkdir -p /etc/ssh/bp-original-keys && mv /etc/ssh/ssh_host_* /etc/ssh/bp-original-keys/
ssh-keygen -A >/dev/null && pkill -HUP -x sshd
"""
_RIGHT_KEY = """
rm -f /etc/ssh/ssh_host_* && mv /etc/ssh/bp-original-keys/* /etc/ssh/
rmdir /etc/ssh/bp-original-keys && pkill -HUP -x sshd
"""


def sh(container: Any, script: str, what: str) -> None:
    """Run a shell script in the node; LabError when it fails."""
    exec_checked(container, ["sh", "-c", script], what)


def stop_daemon(container: Any, daemon: Daemon) -> None:
    """Stop the daemon cleanly and wait until it is gone."""
    exec_checked(container, list(daemon.stop), f"{container.name}: stop {daemon.process}")
    # A signal only asks: the fault is in place once the daemon is gone.
    sh(container, f"for i in $(seq 200); do pgrep -x {daemon.process} >/dev/null || exit 0; "
                  "sleep 0.1; done; exit 1",
       f"{container.name}: {daemon.process} still running after 20s")


def kill_daemon(container: Any, daemon: Daemon) -> None:
    """SIGKILL to the daemon."""
    exec_checked(container, ["pkill", "-KILL", "-x", daemon.process],
                 f"{container.name}: kill {daemon.process}")


def restart_daemon(container: Any, daemon: Daemon) -> None:
    """Start the daemon again once its old process has exited."""
    sh(container, f"while pgrep -x {daemon.process} >/dev/null; do sleep 0.1; done",
       "wait for exit")
    exec_checked(container, list(daemon.start), f"{container.name}: start {daemon.process}")


def daemon_faults(daemon: Daemon) -> dict[str, Fault]:
    """stop and kill for a role's daemon, both healed by starting it again."""
    return {
        "stop": Fault("stop the daemon cleanly", lambda c: stop_daemon(c, daemon),
                      lambda c: restart_daemon(c, daemon)),
        "kill": Fault("kill the daemon (SIGKILL)", lambda c: kill_daemon(c, daemon),
                      lambda c: restart_daemon(c, daemon)),
    }


def _heal_network(container: Any) -> None:
    sh(container, f"iptables -F {CHAIN}", f"{container.name}: heal network")


def network_faults() -> dict[str, Fault]:
    """isolate, first-packet-drop and slow: for nodes with NET_ADMIN in their namespace."""
    return {
        "isolate": Fault("drop every packet on the lab network",
                         lambda c: sh(c, _CHAIN_SETUP + _ISOLATE, f"{c.name}: isolate"),
                         _heal_network),
        "first-packet-drop": Fault(
            "drop the first packet of every new connection",
            lambda c: sh(c, _CHAIN_SETUP + _FIRST_PACKET, f"{c.name}: drop"), _heal_network),
        "slow": Fault("limit what the node sends to 24 kbit/s",
                      lambda c: sh(c, _SLOW, f"{c.name}: slow"),
                      lambda c: sh(c, "tc qdisc del dev eth0 root", f"{c.name}: unslow")),
    }


def fill_disk(volume: str) -> dict[str, Fault]:
    """fill-disk: leave the data volume at ``volume`` no free byte."""
    def fill(container: Any) -> None:
        exec_checked(container, ["sh", "-c", _FILL, "fill", volume],
                     f"{container.name}: fill disk")

    def unfill(container: Any) -> None:
        exec_checked(container, ["rm", "-f", f"{volume}/bp-fill"],
                     f"{container.name}: free disk")

    return {"fill-disk": Fault(
        "fill the data volume (chunks, or backup volumes) to the last byte", fill, unfill)}


def wrong_host_key() -> dict[str, Fault]:
    """wrong-host-key: sshd gets new host keys; heal brings the original ones back."""
    return {"wrong-host-key": Fault(
        "give sshd new host keys (the old ones are kept for heal)",
        lambda c: sh(c, _WRONG_KEY, f"{c.name}: new host keys"),
        lambda c: sh(c, _RIGHT_KEY, f"{c.name}: original host keys"))}


def _kinds() -> list[str]:
    from . import systems  # the systems' tables use this module's builders

    return systems.fault_kinds()


def _check_kind(kind: str) -> None:
    kinds = _kinds()
    if kind not in kinds:
        raise LabError(f"unknown fault {kind!r}: choose one of {', '.join(kinds)}")


def _table(container: Any) -> Mapping[str, Fault]:
    from . import systems

    return systems.faults_of(container)


def active(container: Any) -> list[str]:
    """The faults recorded as active on the node, in the order injected."""
    code, out = container.exec_run(["cat", FAULT_FILE])
    return out.decode().split() if code == 0 else []


def inject(container: Any, kind: str) -> str:
    """Inject fault ``kind`` into the node; returns what it did."""
    _check_kind(kind)
    table = _table(container)
    if kind not in table:
        raise LabError(f"{container.name}: {kind} does not apply to this node; it takes "
                       f"{', '.join(table) or 'no fault'}")
    fault = table[kind]
    if fault.heal is None:
        fault.inject(container)
        return fault.description
    if kind in active(container):
        return f"{kind} already active"
    fault.inject(container)
    exec_checked(container, ["sh", "-c", f"echo {kind} >> {FAULT_FILE}"], "record fault")
    return fault.description


def heal(container: Any, kind: str | None = None) -> list[str]:
    """Undo one fault, or every fault recorded on the node (last first)."""
    current = active(container)
    if kind is not None:
        _check_kind(kind)
    todo = [k for k in reversed(current) if kind is None or k == kind]
    table = _table(container) if todo else {}
    done = []
    for name in todo:
        undo = table[name].heal if name in table else None
        if undo is not None:
            undo(container)
        done.append(f"healed {name}")
    remaining = [k for k in current if k not in todo]
    exec_checked(container, ["sh", "-c", f"printf '%s\\n' {' '.join(remaining)} > {FAULT_FILE}"
                             if remaining else f"rm -f {FAULT_FILE}"], "record heal")
    return done
