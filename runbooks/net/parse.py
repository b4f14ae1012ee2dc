"""Parse what net.first-packet reads: its connect script, and the master's chunkserver lists.

Pure functions, no I/O: fed with captured text in the tests (tests/data/net/ for
the script, tests/data/moosefs, moosefs4 and lizardfs for the listings).

Peers typed by the operator (``--peer HOST:PORT``) and peers named by a master
are validated here before they go anywhere: only host names (RFC 1123 labels),
IPv4 addresses and bracketed IPv6 addresses, and ports 1-65535. A peer reaches
the target's shell script as argv words in any case; the validation makes a
hostile name a one-line usage error instead of a strange connect failure.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ..core.errors import ParseError, UsageError

_HOST = re.compile(r"^(?:[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}|\[[0-9A-Fa-f:.]+\])$")
STATUS_OK, STATUS_TIMEOUT, STATUS_REFUSED, STATUS_ERROR = "ok", "timeout", "refused", "error"
TIMEOUT_EXIT = 124  # coreutils timeout(1): the command ran out of time


@dataclass(frozen=True, order=True)
class Peer:
    """A TCP service to connect to: ``host`` as typed (IPv6 in brackets) and its port."""

    host: str
    port: int
    role: str = ""  # master, chunkserver, or "" for a --peer

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def bare_host(self) -> str:
        """The host as the resolver and bash's /dev/tcp want it (IPv6 without brackets)."""
        return self.host.strip("[]")


def valid_host(host: str) -> bool:
    """Whether ``host`` is a plain host name or address (never an option or shell text)."""
    return bool(_HOST.match(host)) and ".." not in host and not host.startswith("-")


def parse_port(text: str, spec: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise UsageError(f"invalid port in {spec!r}: give a number from 1 to 65535")
    return int(text)


def split_host_port(spec: str, default_port: int | None = None, role: str = "") -> Peer:
    """``HOST:PORT`` (or ``[V6]:PORT``) as a Peer; UsageError names what is wrong.

    Without a port, ``default_port`` is used; without that too, the port is required.
    """
    text = spec.strip()
    host, port_text = text, ""
    if text.startswith("["):
        close = text.find("]")
        host, rest = text[: close + 1], text[close + 1:]
        if close < 0 or (rest and not rest.startswith(":")):
            host, rest = text, ""
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    if not valid_host(host):
        raise UsageError(f"invalid host in {spec!r}: use a host name (letters, digits, '.', "
                         "'-', '_'), an IPv4 address or [IPv6]:PORT")
    if not port_text:
        if default_port is None:
            raise UsageError(f"{spec!r} has no port: give HOST:PORT")
        return Peer(host, default_port, role)
    return Peer(host, parse_port(port_text, spec), role)


def unique(peers: list[Peer]) -> list[Peer]:
    """Each HOST:PORT once, in order; the first role given for it wins."""
    seen: dict[tuple[str, int], Peer] = {}
    for peer in peers:
        seen.setdefault((peer.host, peer.port), peer)
    return list(seen.values())


@dataclass(frozen=True)
class Attempt:
    """One timed connect of the script."""

    slot: int
    peer: Peer
    address: str
    seconds: float
    status: str  # ok, timeout, refused, error
    error: str = ""


@dataclass
class Probe:
    """Everything one run of the connect script said."""

    attempts: list[Attempt] = field(default_factory=list)
    addresses: dict[str, str] = field(default_factory=dict)  # host -> address connected to
    unresolved: dict[str, str] = field(default_factory=dict)  # host -> why not
    syn_before: int | None = None
    syn_after: int | None = None

    @property
    def syn_retrans(self) -> int | None:
        """SYN retransmissions the target's kernel counted while the script ran."""
        if self.syn_before is None or self.syn_after is None:
            return None
        return self.syn_after - self.syn_before


def _error_text(raw: str) -> str:
    # bash says "connect: connect: Connection refused" (its $0, then the call that failed).
    return re.sub(r"^(?:connect: )+", "", raw.strip())


def _status(exit_status: int, error: str) -> str:
    if exit_status == 0:
        return STATUS_OK
    if exit_status == TIMEOUT_EXIT:
        return STATUS_TIMEOUT
    return STATUS_REFUSED if "refused" in error.lower() else STATUS_ERROR


def _attempt(fields: list[str], roles: dict[tuple[str, int], str], number: int) -> Attempt:
    if len(fields) != 8 or not all(f.isdigit() for f in (fields[1], fields[3], fields[5])) \
            or not fields[6].lstrip("-").isdigit():
        raise ParseError(f"connect-times line {number}: unexpected {chr(9).join(fields)!r}")
    _, slot, host, port, address, micros, status, raw = fields
    error = _error_text(raw)
    peer_host = f"[{host}]" if ":" in host else host
    peer = Peer(peer_host, int(port), roles.get((peer_host, int(port)), ""))
    return Attempt(int(slot), peer, address, int(micros) / 1e6, _status(int(status), error),
                   error)


def _counter(value: str, number: int) -> int | None:
    if value == "-":
        return None
    if not value.isdigit():
        raise ParseError(f"connect-times line {number}: bad counter {value!r}")
    return int(value)


def parse_connect_times(text: str, peers: list[Peer] | tuple[Peer, ...] = ()) -> Probe:
    """The connect script's output (see runbooks/net/scripts/connect-times.sh).

    ``peers`` gives the attempts their roles back. Output that does not end with the
    script's ``end`` line was cut short: that is a ParseError, not fewer attempts.
    """
    roles = {(p.host, p.port): p.role for p in peers}
    probe = Probe()
    complete = False
    for number, line in enumerate(text.splitlines(), 1):
        if not line:
            continue
        fields = line.split("\t")
        kind = fields[0]
        if kind == "connect":
            probe.attempts.append(_attempt(fields, roles, number))
        elif kind == "synretrans" and len(fields) == 3 and fields[1] in ("before", "after"):
            setattr(probe, f"syn_{fields[1]}", _counter(fields[2], number))
        elif kind == "addr" and len(fields) == 3:
            probe.addresses[fields[1]] = fields[2]
        elif kind == "noaddr" and len(fields) == 3:
            probe.unresolved[fields[1]] = fields[2]
        elif kind == "end" and len(fields) == 1:
            complete = True
        else:
            raise ParseError(f"connect-times line {number}: unexpected {line!r}")
    if not complete:
        raise ParseError("connect-times: output ends early (no 'end' line)")
    return probe


# --- the master's list of chunkservers -------------------------------------------------

CHUNKSERVER_PORT = 9422


@dataclass(frozen=True)
class ChunkServer:
    host: str  # as the master lists it: an address, or a name (MooseFS 4 without -n)
    port: int
    connected: bool


def _chunkserver(host: str, port: str, connected: bool, where: str) -> ChunkServer:
    if not valid_host(host) or not port.isdigit():
        raise ParseError(f"{where}: not a chunkserver address: {host!r} port {port!r}")
    return ChunkServer(host, int(port), connected)


def parse_mfscli_servers(text: str) -> list[ChunkServer]:
    """``mfscli -SCS`` tab output (``-p``; MooseFS 3 ``chunk servers:``, 4 ``chunkservers:``).

    ``Disconnected chunk servers:`` lines are kept, as not connected: a server the
    master lost is exactly one whose path is worth timing.
    """
    servers = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split("\t")
        where = f"mfscli -SCS line {number}"
        if fields[0] in ("chunk servers:", "chunkservers:") and len(fields) > 2:
            servers.append(_chunkserver(fields[1], fields[2], True, where))
        elif fields[0] == "Disconnected chunk servers:" and len(fields) > 2:
            servers.append(_chunkserver(fields[1], fields[2], False, where))
    return servers


def parse_mfscli_json(text: str) -> list[ChunkServer]:
    """``mfscli -j -SCS`` (MooseFS 4): ``dataset.chunkservers[]`` with ip, port, connected."""
    try:
        rows = json.loads(text)["dataset"]["chunkservers"]
        return [_chunkserver(str(row["ip"]), str(row["port"]), bool(row["connected"]),
                             "mfscli -j -SCS") for row in rows]
    except (ValueError, KeyError, TypeError) as exc:
        raise ParseError(f"mfscli -j -SCS: not the expected JSON ({exc})") from None


def parse_lizardfs_servers(text: str) -> list[ChunkServer]:
    """``lizardfs-admin list-chunkservers MASTER PORT --porcelain``: ``ADDR:PORT VERSION ...``.

    A disconnected server reads ``ADDR:PORT - 0 0 0 0 0 0 0 -`` (version ``-``).
    """
    servers = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        host, sep, port = fields[0].rpartition(":")
        if not sep or len(fields) < 2:
            raise ParseError(f"list-chunkservers line {number}: unexpected {line!r}")
        servers.append(_chunkserver(host, port, fields[1] != "-",
                                    f"list-chunkservers line {number}"))
    return servers
