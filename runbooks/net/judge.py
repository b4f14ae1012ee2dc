"""Judge timed connects: which peer's path drops the first packet of a connection.

Facts behind the rules:

- A client that gets no answer to its SYN sends it again after the initial
  retransmission time-out, 1 s (RFC 6298, section 2.1 and appendix A; Linux
  ``TCP_TIMEOUT_INIT``, tcp(7) ``tcp_syn_retries``), and doubles the wait for
  each further try (RFC 6298, 5.5): a connect that lost its first SYN takes
  about 1 s, one that lost two about 3 s. A connect on a healthy LAN takes
  milliseconds (tests/data/net: 4-31 ms on a loaded 2-core lab host, process
  start-up included). So 0.8 s or more, below the 1 s of the first resend, is
  the signature; it leaves a loaded machine a wide margin.
- The kernel counts every SYN it resends (``TcpExt TCPSynRetrans`` in
  /proc/net/netstat, what ``nstat`` shows); its change during the check is
  reported next to the times: slow connects and no resent SYN mean the delay
  is somewhere else (a slow accept, a proxy).
- One slow peer among fast ones points at that peer's path (its switch port,
  its virtual switch, its firewall). Every peer slow points at the target's
  own path instead: one finding says so, not one per peer.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median
from typing import Any

from ..core.findings import Finding, Severity
from .parse import STATUS_OK, STATUS_TIMEOUT, Attempt, Peer, Probe

PAGE = "runbooks/first-packet/"
CHECK = "net.first-packet"
SLOW_SECONDS = 0.8  # below the 1 s initial RTO (RFC 6298) with room for a loaded host
RESEND_SECONDS = (1.0, 3.0)  # when a connect that lost one, two SYNs completes

SLOW_WHY = ("its connects wait for the SYN retransmission (1 s, then 3 s): the path to it "
            "drops the first packet of a new connection. Every new connection to it, "
            "chunk reads and writes and reconnects, pays that second")
OWN_PATH_WHY = ("every peer is slow to connect the same way, so the first packets are lost on "
                "this host's own path (its NIC, switch port, virtual switch or firewall), not "
                "at one peer")
UNREACHABLE_WHY = ("a peer that refuses or does not answer a connect is down, or a firewall "
                   "in between stops it: the cluster works without it, with fewer copies")


def _seconds(values: Sequence[float]) -> str:
    return ", ".join(f"{v:.2f}s" for v in values)


def syn_text(probe: Probe) -> str:
    """'TCPSynRetrans +3' (the counter's change during the check), or why it is not known."""
    delta = probe.syn_retrans
    return "TCPSynRetrans unreadable" if delta is None else f"TCPSynRetrans +{delta}"


def _attempts(probe: Probe, peer: Peer) -> list[Attempt]:
    return [a for a in probe.attempts if (a.peer.host, a.peer.port) == (peer.host, peer.port)]


def _data(peer: Peer, attempts: Sequence[Attempt], probe: Probe) -> dict[str, Any]:
    return {"peer": str(peer), "role": peer.role,
            "address": probe.addresses.get(peer.bare_host, ""),
            "seconds": [round(a.seconds, 3) for a in attempts],
            "statuses": [a.status for a in attempts],
            "errors": sorted({a.error for a in attempts if a.error}),
            "syn_retrans": probe.syn_retrans}


def _who(peer: Peer) -> str:
    return f"{peer.role}: " if peer.role else ""


def judge_peer(target: str, peer: Peer, probe: Probe) -> Finding:
    """One finding for one peer: unreachable (CRIT), slow (CRIT most, WARN some) or OK."""
    attempts = _attempts(probe, peer)
    data = _data(peer, attempts, probe)
    if peer.bare_host in probe.unresolved:
        reason = probe.unresolved[peer.bare_host]
        return Finding(f"{CHECK}.unreachable", Severity.CRIT, target, str(peer),
                       f"{_who(peer)}cannot resolve {peer.host}: {reason}", why=UNREACHABLE_WHY,
                       page=f"{PAGE}#unreachable", data=data)
    if not attempts:
        return Finding(f"{CHECK}.nothing", Severity.UNKNOWN, target, str(peer),
                       f"{_who(peer)}no connect was timed", data=data)
    failed = [a for a in attempts if a.status != STATUS_OK]
    if failed:
        errors = sorted({"timed out after 4s" if a.status == STATUS_TIMEOUT
                         else a.error or a.status for a in failed})
        return Finding(f"{CHECK}.unreachable", Severity.CRIT, target, str(peer),
                       f"{_who(peer)}{len(failed)} of {len(attempts)} connects failed: "
                       f"{'; '.join(errors)}", why=UNREACHABLE_WHY, page=f"{PAGE}#unreachable",
                       data=data)
    times = [a.seconds for a in attempts]
    slow = [t for t in times if t >= SLOW_SECONDS]
    if not slow:
        return Finding(CHECK, Severity.OK, target, str(peer),
                       f"{_who(peer)}{len(times)} connects, slowest {max(times):.2f}s",
                       data=data)
    severity = Severity.CRIT if 2 * len(slow) > len(times) else Severity.WARN
    return Finding(f"{CHECK}.slow-peer", severity, target, str(peer),
                   f"{_who(peer)}{len(slow)} of {len(times)} connects took the SYN "
                   f"retransmission time ({_seconds(times)}); {syn_text(probe)}"
                   f"{_no_resend(probe)}", why=SLOW_WHY, page=f"{PAGE}#slow-peer", data=data)


def _no_resend(probe: Probe) -> str:
    if probe.syn_retrans == 0:
        return ": no SYN was resent, so the delay is not a lost first packet of this host's"
    return ""


def judge(target: str, peers: Sequence[Peer], probe: Probe | None) -> list[Finding]:
    """Findings for every peer, or one for the target's own path when every peer is slow.

    No peer at all is UNKNOWN: a check that timed nothing must not say OK.
    """
    if not peers or probe is None:
        return [Finding(f"{CHECK}.nothing", Severity.UNKNOWN, target, "",
                        "no peers to connect to: give --peer HOST:PORT or --mfs-master HOST")]
    findings = [judge_peer(target, peer, probe) for peer in peers]
    timed = [f for f in findings if f.check in (CHECK, f"{CHECK}.slow-peer")]
    slow = [f for f in timed if f.check == f"{CHECK}.slow-peer"]
    if len(timed) < 2 or len(slow) < len(timed):
        return findings
    times = [t for f in slow for t in f.data["seconds"]]
    many = sum(1 for t in times if t >= SLOW_SECONDS)
    own = Finding(
        f"{CHECK}.own-path", max(f.severity for f in slow), target, "every peer",
        f"all {len(slow)} peers are slow to connect: {many} of {len(times)} connects took "
        f"the SYN retransmission time (median {median(times):.2f}s); {syn_text(probe)}: "
        "the first packets are lost on this host's own path",
        why=OWN_PATH_WHY, page=f"{PAGE}#own-path",
        data={"peers": [f.data for f in slow], "syn_retrans": probe.syn_retrans})
    return [f for f in findings if f not in slow] + [own]


def judge_listing(target: str, master: Peer, listed: int) -> list[Finding]:
    """UNKNOWN when the master named no chunkserver: their paths went untimed."""
    if listed:
        return []
    return [Finding(f"{CHECK}.nothing", Severity.UNKNOWN, target, str(master),
                    f"the master {master.host} lists no chunkserver: only its own ports "
                    "were timed")]


def metrics(findings: Sequence[Finding]) -> dict[str, float]:
    """Perfdata: peers timed, slow and unreachable, and the SYN retransmissions counted."""
    peers = [f for f in findings if f.check.startswith(CHECK) and f.subject
             and f.check != f"{CHECK}.own-path" and "peer" in f.data]
    own = [p for f in findings if f.check == f"{CHECK}.own-path" for p in f.data["peers"]]
    counters = {(f.target, f.data.get("syn_retrans")) for f in findings
                if f.data.get("syn_retrans") is not None}
    return {
        "peers": len(peers) + len(own),
        "slow_peers": sum(f.check == f"{CHECK}.slow-peer" for f in peers) + len(own),
        "failed_peers": sum(f.check == f"{CHECK}.unreachable" for f in peers),
        "syn_retrans": sum(delta for _, delta in counters),
    }


def ok_text(findings: Sequence[Finding]) -> str:
    """What OK means: every connect was fast, with the SYN retransmission count."""
    counted = metrics(findings)
    return (f"no slow connect (slowest {_slowest(findings):.2f}s); "
            f"TCPSynRetrans +{counted['syn_retrans']:g}")


def _slowest(findings: Sequence[Finding]) -> float:
    return max((t for f in findings for t in f.data.get("seconds", ())), default=0.0)


LISTING_HEADER = ("PEER", "ROLE", "ADDRESS", "CONNECT TIMES")


def listing(findings: Sequence[Finding]) -> list[str]:
    """The table format's listing: every peer's connect times, per target."""
    rows_by_target: dict[str, list[dict[str, Any]]] = {}
    for f in findings:
        rows = f.data.get("peers") or ([f.data] if "peer" in f.data else [])
        rows_by_target.setdefault(f.target, []).extend(rows)
    lines = []
    for target, rows in rows_by_target.items():
        if not rows:
            continue
        table = [LISTING_HEADER] + [
            (d["peer"], d["role"] or "-", d["address"] or "-",
             " ".join(f"{s:.2f}s" if st == STATUS_OK else st
                      for s, st in zip(d["seconds"], d["statuses"], strict=True)) or "-")
            for d in sorted(rows, key=lambda d: (d["role"] != "master", d["peer"]))]
        widths = [max(len(r[i]) for r in table) for i in range(3)]
        lines.append(f"{target}: {syn_text_of(rows)} during the check")
        lines += ["  " + "  ".join([*(r[i].ljust(widths[i]) for i in range(3)), r[3]]).rstrip()
                  for r in table]
        lines.append("")
    return lines


def syn_text_of(rows: Sequence[dict[str, Any]]) -> str:
    delta = next((d["syn_retrans"] for d in rows if d.get("syn_retrans") is not None), None)
    return "TCPSynRetrans unreadable" if delta is None else f"TCPSynRetrans +{delta}"
