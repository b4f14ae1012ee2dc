"""net: network paths that drop the first packet of a new connection.

Task: ``net.first-packet`` (read only). From a target host it times fresh TCP
connects to every peer (given, or a MooseFS/LizardFS master's chunkservers and
ports) and reads the kernel's SYN retransmission counter around them.
Page: docs/runbooks/first-packet.md. Layers: collect.py (the master's list, the
timed connects), parse.py (text to data), judge.py (data to findings).
"""

from __future__ import annotations

from ..core.errors import UsageError
from ..core.findings import Finding
from ..core.options import TargetOptions
from ..core.runner import collect_report, collection, finish, runbook_task
from ..core.targets import Target, split_list

FIRST_PACKET_HELP = {
    "peer": "A peer to connect to, HOST:PORT (IPv6: [ADDR]:PORT). Repeatable, or comma "
    "separated.",
    "mfs_master": "A MooseFS/LizardFS master, HOST[:PORT] (client port, default 9421): its "
    "chunkservers (asked with mfscli or lizardfs-admin on the target) and its ports 9419, "
    "9420 and 9421 become peers.",
    "count": "Connects to each peer (default 3).",
    "pause": "Seconds between two connects to the same host (default 2.5): longer than the "
    "time a path may let a retry through after it dropped a first packet.",
}
MAX_COUNT = 20


def _schedule_options(count: object, pause: object) -> tuple[int, float]:
    try:
        count, pause = int(str(count)), float(str(pause))
    except ValueError:
        raise UsageError("--count takes a whole number and --pause seconds") from None
    if not 1 <= count <= MAX_COUNT:
        raise UsageError(f"--count must be between 1 and {MAX_COUNT}")
    if not 0 <= pause <= 60:
        raise UsageError("--pause must be between 0 and 60 seconds")
    return count, pause


@runbook_task(help=FIRST_PACKET_HELP, iterable=["peer"], label="NET", name="first-packet",
              targets="many")
def first_packet(
    c,
    peer=None,
    mfs_master=None,
    count=3,
    pause=2.5,
    *,
    opts: TargetOptions,
):
    """Time fresh TCP connects from a host to its peers: find the path that drops first packets.

    From this host, --host targets over SSH or --container targets, opens
    --count fresh connections to every --peer (and, with --mfs-master, to the
    master's ports and every chunkserver it lists), --pause seconds apart per
    host, timing each one with bash's /dev/tcp, and reads the kernel's
    TCPSynRetrans counter before and after. A peer whose connects take the SYN
    retransmission time (1 s, then 3 s; 0.8 s or more counts) while others are
    fast is CRIT when most of its connects are slow, WARN when some are. Every
    peer slow is one finding: the target's own path. A refused or unanswered
    connect is CRIT (unreachable). No peer at all is UNKNOWN.
    """
    from ..core.render import check_format
    from .collect import chunkserver_peers, chunkservers, master_peers, measure
    from .judge import judge, judge_listing, listing, metrics, ok_text
    from .parse import split_host_port, unique

    fmt = check_format(opts.format)
    given = [split_host_port(spec) for spec in split_list(peer)]  # refused before any run
    master = split_host_port(mfs_master, 9421, "master") if mfs_master else None
    count, pause = _schedule_options(count, pause)
    targets = opts.targets()

    async def work(target: Target) -> list[Finding]:
        peers, notes = list(given), []
        if master is not None:
            servers = await chunkservers(target, master)
            notes = judge_listing(target.name, master, len(servers))
            peers += master_peers(master) + chunkserver_peers(servers)
        peers = unique(peers)
        probe = await measure(target, peers, count, pause, opts.timeout) if peers else None
        return notes + judge(target.name, peers, probe)

    report = collect_report("net.first-packet", "First packet", "peer", targets, work,
                            opts.parallel)
    report.metrics.update(metrics(report.findings))
    report.ok_text = ok_text(report.findings)
    report.details = listing(report.findings)
    finish(report, fmt, opts.textfile_dir)


ns = collection("net", first_packet)
