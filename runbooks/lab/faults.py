"""Faults injected into one lab node, each reversible with heal.

Network faults live in an iptables chain of their own (BP_FAULT) inside the
node's network namespace, on its lab interface only, so healing is flushing
that chain and nothing else of the node is touched. Every injected fault is
listed in /run/bp-faults in the node, so `lab.heal NODE` knows what to undo.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import bacula
from .engine import LabError, exec_checked

FAULT_FILE = "/run/bp-faults"
CHAIN = "BP_FAULT"

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
_DATA_VOLUMES = {"chunkserver": "/mfsdata", "bacula-sd": "/backup"}


def _role(container: Any) -> str:
    """master / chunkserver / ssh (fleet host) / client, from the node's host name."""
    _, out = container.exec_run(["hostname"])
    name = out.decode().strip()
    if name == "master":
        return "master"
    if name.startswith("cs"):
        return "chunkserver"
    if name.startswith("host"):
        return "ssh"
    if name in ("dir", "sd") or name.startswith("fd"):
        return "bacula-" + bacula.role_of(name)
    return "client"


# The daemon each role runs: how to stop it cleanly, and how to start it.
_DAEMONS = {
    "master": ("mfsmaster", ["mfsmaster", "stop"], ["mfs-role", "master"]),
    "chunkserver": ("mfschunkserver", ["mfschunkserver", "stop"], ["mfs-role", "chunkserver"]),
    "ssh": ("sshd", ["pkill", "-TERM", "-x", "sshd"], ["/usr/sbin/sshd"]),
    **{f"bacula-{role}": (daemon, ["pkill", "-TERM", "-x", daemon], bacula.start_command(role))
       for role, (daemon, _) in bacula.DAEMONS.items()},
}


def _daemon(container: Any) -> tuple[str, list[str], list[str]]:
    role = _role(container)
    if role not in _DAEMONS:
        raise LabError(f"{container.name}: stop and kill apply to MooseFS master and "
                       "chunkservers, fleet hosts and Bacula daemons")
    return _DAEMONS[role]


def _sh(container: Any, script: str, what: str) -> None:
    exec_checked(container, ["sh", "-c", script], what)


def _stop(container: Any) -> None:
    name, stop, _ = _daemon(container)
    exec_checked(container, stop, f"{container.name}: stop {name}")
    # A signal only asks: the fault is in place once the daemon is gone.
    _sh(container, f"for i in $(seq 200); do pgrep -x {name} >/dev/null || exit 0; "
                   "sleep 0.1; done; exit 1", f"{container.name}: {name} still running after 20s")


def _kill(container: Any) -> None:
    name, _, _ = _daemon(container)
    exec_checked(container, ["pkill", "-KILL", "-x", name], f"{container.name}: kill {name}")


def _restart(container: Any) -> None:
    name, _, start = _daemon(container)
    _sh(container, f"while pgrep -x {name} >/dev/null; do sleep 0.1; done", "wait for exit")
    exec_checked(container, start, f"{container.name}: start {name}")


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


def _hide_chunks(container: Any) -> None:
    if _role(container) != "chunkserver":
        raise LabError(f"{container.name}: lose-chunks applies to chunkservers")
    _stop(container)
    _sh(container, "mv /mfsdata/chunks /mfsdata/hidden && mkdir /mfsdata/chunks && "
                   "chown mfs:mfs /mfsdata/chunks", f"{container.name}: hide chunks")
    _restart(container)


def _unhide_chunks(container: Any) -> None:
    _stop(container)
    _sh(container, "rm -rf /mfsdata/chunks && mv /mfsdata/hidden /mfsdata/chunks",
        f"{container.name}: restore chunks")
    _restart(container)


def _data_volume(container: Any) -> str:
    role = _role(container)
    if role not in _DATA_VOLUMES:
        raise LabError(f"{container.name}: fill-disk applies to chunkservers and the "
                       "Bacula storage daemon")
    return _DATA_VOLUMES[role]


def _fill(container: Any) -> None:
    exec_checked(container, ["sh", "-c", _FILL, "fill", _data_volume(container)],
                 f"{container.name}: fill disk")


def _unfill(container: Any) -> None:
    exec_checked(container, ["rm", "-f", f"{_data_volume(container)}/bp-fill"],
                 f"{container.name}: free disk")


def _cancel_job(container: Any) -> None:
    if _role(container) != "bacula-dir":
        raise LabError(f"{container.name}: cancel-job applies to the Bacula director (dir)")
    bacula.cancel_running_job(container, bacula.SLOW_JOB)


# An event rather than a state (a canceled job) has no heal and is not recorded.
FAULTS: dict[str, tuple[str, Callable[[Any], None], Callable[[Any], None] | None]] = {
    "stop": ("stop the daemon cleanly", _stop, _restart),
    "kill": ("kill the daemon (SIGKILL)", _kill, _restart),
    "isolate": ("drop every packet on the lab network",
                lambda c: _sh(c, _CHAIN_SETUP + _ISOLATE, f"{c.name}: isolate"),
                lambda c: _sh(c, f"iptables -F {CHAIN}", f"{c.name}: heal network")),
    "first-packet-drop": ("drop the first packet of every new connection",
                          lambda c: _sh(c, _CHAIN_SETUP + _FIRST_PACKET, f"{c.name}: drop"),
                          lambda c: _sh(c, f"iptables -F {CHAIN}", f"{c.name}: heal network")),
    "fill-disk": ("fill the data volume (chunks, or backup volumes) to the last byte",
                  _fill, _unfill),
    "cancel-job": (f"start {bacula.SLOW_JOB} and cancel it while it runs (the canceled run "
                   "stays in the catalog: nothing to heal)", _cancel_job, None),
    "lose-chunks": ("restart with an empty chunk folder, as after a disk replacement "
                    "(the old one is kept aside for heal)", _hide_chunks, _unhide_chunks),
    "slow": ("limit what the node sends to 24 kbit/s",
             lambda c: _sh(c, _SLOW, f"{c.name}: slow"),
             lambda c: _sh(c, "tc qdisc del dev eth0 root", f"{c.name}: unslow")),
    "wrong-host-key": ("give sshd new host keys (the old ones are kept for heal)",
                       lambda c: _sh(c, _WRONG_KEY, f"{c.name}: new host keys"),
                       lambda c: _sh(c, _RIGHT_KEY, f"{c.name}: original host keys")),
}


def active(container: Any) -> list[str]:
    code, out = container.exec_run(["cat", FAULT_FILE])
    return out.decode().split() if code == 0 else []


def inject(container: Any, kind: str) -> str:
    """Inject fault ``kind`` into the node; returns what it did."""
    if kind not in FAULTS:
        raise LabError(f"unknown fault {kind!r}: choose one of {', '.join(FAULTS)}")
    description, do, undo = FAULTS[kind]
    if undo is None:
        do(container)
        return description
    if kind in active(container):
        return f"{kind} already active"
    do(container)
    exec_checked(container, ["sh", "-c", f"echo {kind} >> {FAULT_FILE}"], "record fault")
    return description


def heal(container: Any, kind: str | None = None) -> list[str]:
    """Undo one fault, or every fault recorded on the node (last first)."""
    current = active(container)
    if kind is not None and kind not in FAULTS:
        raise LabError(f"unknown fault {kind!r}: choose one of {', '.join(FAULTS)}")
    todo = [k for k in reversed(current) if kind is None or k == kind]
    done = []
    for name in todo:
        undo = FAULTS[name][2]
        if undo is not None:
            undo(container)
        done.append(f"healed {name}")
    remaining = [k for k in current if k not in todo]
    exec_checked(container, ["sh", "-c", f"printf '%s\\n' {' '.join(remaining)} > {FAULT_FILE}"
                             if remaining else f"rm -f {FAULT_FILE}"], "record heal")
    return done
