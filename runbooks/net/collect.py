"""What net.first-packet runs on a target: the master's chunkserver list, then timed connects.

The connects are made by one constant script, scripts/connect-times.sh (bash, for
its /dev/tcp; no Python on the target). Peers reach it as argv words, never as
text. Every connect is fresh, and connects to the same host are ``pause``
seconds apart, so that a path which lets a retry through for a short while
after it dropped a first packet (the lab's fault: 2 s) drops each attempt's
first SYN again. Connects to different hosts run at the same time: one slot
per round, all hosts at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.errors import ParseError, TargetError
from ..core.scripts import load
from ..core.targets import Target
from .parse import (
    CHUNKSERVER_PORT,
    ChunkServer,
    Peer,
    Probe,
    parse_connect_times,
    parse_lizardfs_servers,
    parse_mfscli_json,
    parse_mfscli_servers,
)

CONNECT_SCRIPT = load(__package__, "connect-times.sh")
# Seconds one connect (or name lookup) may take. Linux resends a lost SYN after 1 s,
# then 3 s after the first try, then 7 s (initial RTO 1 s, doubled each time): 4 s
# lets a connect that lost one or two SYNs finish, and calls one that lost three a
# time-out.
CONNECT_LIMIT = 4.0
MASTER_PORTS = (9419, 9420, 9421)  # metaloggers, chunkservers, clients (MooseFS/LizardFS)
MASTER_CLIENT_PORT = 9421
SERVICE_TOOLS = ("mfscli", "lizardfs-admin")


def master_peers(master: Peer) -> list[Peer]:
    """The master's ports: 9419, 9420 and its client port (9421 unless given)."""
    ports = [p for p in MASTER_PORTS if p != MASTER_CLIENT_PORT] + [master.port]
    return [Peer(master.host, port, "master") for port in ports]


def schedule(peers: Sequence[Peer], count: int) -> list[tuple[int, Peer]]:
    """(slot, peer) for ``count`` connects to each peer, a host's connects in separate slots.

    A host with several ports gets them in turn (slot 1 the first port, slot 2 the
    second, ...), so that no two connects to one host are closer than the pause.
    """
    by_host: dict[str, list[Peer]] = {}
    for peer in peers:
        if peer not in by_host.setdefault(peer.host, []):
            by_host[peer.host].append(peer)
    plan = [(round_ * len(ports) + index + 1, peer)
            for ports in by_host.values()
            for round_ in range(count)
            for index, peer in enumerate(ports)]
    return sorted(plan, key=lambda item: item[0])


def worst_case_seconds(plan: Sequence[tuple[int, Peer]], pause: float) -> float:
    """How long the script can take at most: every lookup and every connect at its limit."""
    slots = max((slot for slot, _ in plan), default=0)
    hosts = len({peer.host for _, peer in plan})
    return (hosts + slots) * CONNECT_LIMIT + max(slots - 1, 0) * pause


async def measure(target: Target, peers: Sequence[Peer], count: int, pause: float,
                  timeout: float) -> Probe:
    """Time ``count`` fresh connects to every peer from ``target``; the parsed result.

    The command may take as long as its schedule needs even if that is longer than
    ``timeout`` (--timeout): every step of it is bounded, so it cannot hang.
    """
    plan = schedule(peers, count)
    argv = ["bash", "-c", CONNECT_SCRIPT, "connect-times", f"{pause:g}", f"{CONNECT_LIMIT:g}"]
    for slot, peer in plan:
        argv += [str(slot), peer.bare_host, str(peer.port)]
    result = await target.run(argv, timeout=max(timeout, worst_case_seconds(plan, pause) + 10))
    if not result.stdout.startswith("synretrans\t"):
        raise TargetError(f"{target.name}: connect script failed: {result.first_error_line()}")
    try:
        return parse_connect_times(result.stdout, peers)
    except ParseError as exc:
        how = f"exit status {result.exit_status}"
        if result.stderr.strip():
            how += f", {result.first_error_line()}"
        raise ParseError(f"{target.name}: {exc} ({how})") from None


def listing_commands(tool: str, master: Peer) -> list[tuple[str, list[str]]]:
    """(format, argv) to ask the master for its chunkservers with ``tool``, best first."""
    host, port = master.bare_host, str(master.port)
    if tool == "lizardfs-admin":
        return [("lizardfs", ["lizardfs-admin", "list-chunkservers", host, port, "--porcelain"])]
    return [("json", ["mfscli", "-H", host, "-P", port, "-j", "-SCS"]),  # MooseFS 4
            ("tab", ["mfscli", "-H", host, "-P", port, "-n", "-p", "-SCS"])]  # MooseFS 3


PARSERS = {"json": parse_mfscli_json, "tab": parse_mfscli_servers,
           "lizardfs": parse_lizardfs_servers}


async def chunkservers(target: Target, master: Peer) -> list[ChunkServer]:
    """The chunkservers the master lists (connected or not), asked with the target's tools.

    MooseFS 4's JSON first, then MooseFS 3's tab output, then LizardFS's porcelain
    output: the first answer that parses wins. TargetError when no tool answered.
    """
    found = await target.run(["sh", "-c", 'for t in "$@"; do command -v "$t"; done; exit 0',
                              "which", *SERVICE_TOOLS])
    tools = [t for t in SERVICE_TOOLS if any(p.endswith("/" + t) for p in found.stdout.split())]
    if not tools:
        raise TargetError(f"{target.name}: neither mfscli (MooseFS) nor lizardfs-admin "
                          "(LizardFS) is installed: name the peers with --peer HOST:PORT")
    errors = []
    for tool in tools:
        for kind, argv in listing_commands(tool, master):
            result = await target.run(argv)
            if kind == "json" and not result.stdout.lstrip().startswith("{"):
                continue  # MooseFS 3's mfscli has no -j: ask for tab output instead
            if not result.ok:
                errors.append(f"{argv[0]}: {result.first_error_line()}")
                continue
            try:
                return PARSERS[kind](result.stdout)
            except ParseError as exc:
                errors.append(str(exc))
    raise TargetError(f"{target.name}: the master {master.host} did not list its "
                      f"chunkservers: {'; '.join(errors) or 'no answer'}")


def chunkserver_peers(servers: Sequence[ChunkServer]) -> list[Peer]:
    """Peers for the listed chunkservers (their listed port, 9422 by default)."""
    return [Peer(s.host if ":" not in s.host else f"[{s.host}]", s.port or CHUNKSERVER_PORT,
                 "chunkserver") for s in servers]
