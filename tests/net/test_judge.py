"""The first-packet rules on captured connect times: what is flagged, how badly, and why."""

from runbooks.core.findings import Severity
from runbooks.net.collect import master_peers
from runbooks.net.judge import (
    SLOW_SECONDS,
    judge,
    judge_listing,
    listing,
    metrics,
    ok_text,
)
from runbooks.net.parse import Peer, parse_connect_times
from tests.helpers import DATA

CHUNKSERVERS = [Peer(f"172.30.0.{n}", 9422, "chunkserver") for n in range(3, 7)]
CLUSTER = [*master_peers(Peer("master", 9421, "master")), *CHUNKSERVERS]


def run(name, peers=CLUSTER):
    probe = parse_connect_times((DATA / "net" / name).read_text(), peers)
    return judge("client", peers, probe)


def problems(findings):
    return [(f.severity, f.check, f.subject) for f in findings if f.severity != Severity.OK]


def test_the_faulted_chunkserver_and_nothing_else_is_critical():
    findings = run("cs3-first-packet-drop.txt")
    assert problems(findings) == [
        (Severity.CRIT, "net.first-packet.slow-peer", "172.30.0.5:9422")]
    slow = next(f for f in findings if f.severity != Severity.OK)
    assert slow.message == ("chunkserver: 3 of 3 connects took the SYN retransmission time "
                            "(1.06s, 1.04s, 1.04s); TCPSynRetrans +3")
    assert slow.page == "runbooks/first-packet/#slow-peer"
    assert slow.data["address"] == "172.30.0.5"
    assert len(findings) == 7  # every peer judged, the six others OK


def test_healthy_cluster_is_ok_and_says_what_ok_means():
    findings = run("healthy.txt")
    assert problems(findings) == []
    assert {f.check for f in findings} == {"net.first-packet"}
    assert ok_text(findings) == "no slow connect (slowest 0.03s); TCPSynRetrans +0"
    assert metrics(findings) == {"peers": 7, "slow_peers": 0, "failed_peers": 0,
                                 "syn_retrans": 0}


def test_every_peer_slow_is_one_finding_about_the_own_path():
    findings = run("client-first-packet-drop.txt")
    assert problems(findings) == [(Severity.CRIT, "net.first-packet.own-path", "every peer")]
    own = findings[-1]
    assert own.message == (
        "all 7 peers are slow to connect: 21 of 21 connects took the SYN retransmission "
        "time (median 1.07s); TCPSynRetrans +21: the first packets are lost on this "
        "host's own path")
    assert own.page == "runbooks/first-packet/#own-path"
    assert metrics(findings)["slow_peers"] == 7


def test_some_slow_connects_are_a_warning():
    # A pause shorter than the fault's window lets every other connect through.
    peers = [Peer("172.30.0.3", 9422), Peer("172.30.0.5", 9422)]
    findings = run("cs3-short-pause.txt", peers)
    assert problems(findings) == [(Severity.WARN, "net.first-packet.slow-peer",
                                   "172.30.0.5:9422")]
    assert "2 of 4 connects took the SYN retransmission time" in findings[1].message


def test_refused_timed_out_and_unresolvable_peers_are_critical_with_the_error():
    peers = [Peer("172.30.0.3", 9422), Peer("172.30.0.4", 1234), Peer("172.30.0.6", 9422),
             Peer("no-such-host.invalid", 9422)]
    findings = run("unreachable.txt", peers)
    assert [(f.severity, f.subject, f.message) for f in findings] == [
        (Severity.OK, "172.30.0.3:9422", "2 connects, slowest 0.01s"),
        (Severity.CRIT, "172.30.0.4:1234", "2 of 2 connects failed: Connection refused"),
        (Severity.CRIT, "172.30.0.6:9422", "2 of 2 connects failed: timed out after 4s"),
        (Severity.CRIT, "no-such-host.invalid:9422",
         "cannot resolve no-such-host.invalid: no address found"),
    ]
    assert {f.page for f in findings[1:]} == {"runbooks/first-packet/#unreachable"}
    assert metrics(findings)["failed_peers"] == 3


def test_no_peer_is_unknown_never_ok():
    findings = judge("client", [], None)
    assert [(f.severity, f.message) for f in findings] == [
        (Severity.UNKNOWN, "no peers to connect to: give --peer HOST:PORT or --mfs-master HOST")]
    assert judge_listing("client", Peer("master", 9421), 0)[0].severity is Severity.UNKNOWN
    assert judge_listing("client", Peer("master", 9421), 4) == []


def test_one_slow_peer_alone_is_not_called_the_own_path():
    peers = [Peer("172.30.0.5", 9422)]
    findings = run("cs3-short-pause.txt", peers)
    assert [f.check for f in findings] == ["net.first-packet.slow-peer"]


def test_slow_without_a_resent_syn_says_the_delay_is_elsewhere():
    text = ("synretrans\tbefore\t5\naddr\th\t10.0.0.1\naddr\tg\t10.0.0.2\n"
            "connect\t1\th\t80\t10.0.0.1\t1200000\t0\t\n"
            "connect\t1\tg\t80\t10.0.0.2\t2000\t0\t\nsynretrans\tafter\t5\nend\n")
    peers = [Peer("h", 80), Peer("g", 80)]
    findings = judge("client", peers, parse_connect_times(text, peers))
    assert findings[0].severity is Severity.CRIT
    assert findings[0].message.endswith("TCPSynRetrans +0: no SYN was resent, so the delay "
                                        "is not a lost first packet of this host's")


def test_threshold_is_below_the_first_resend():
    assert 0.5 < SLOW_SECONDS < 1.0


def test_listing_shows_every_peer_with_its_times():
    lines = listing(run("cs3-first-packet-drop.txt"))
    assert lines[0] == "client: TCPSynRetrans +3 during the check"
    assert lines[1].split() == ["PEER", "ROLE", "ADDRESS", "CONNECT", "TIMES"]
    assert lines[2].split()[:3] == ["master:9419", "master", "172.30.0.2"]
    assert "  172.30.0.5:9422  chunkserver  172.30.0.5  1.06s 1.04s 1.04s" in lines
