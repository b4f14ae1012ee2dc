"""The connect script's output and the masters' chunkserver lists, as captured in the lab."""

import pytest

from runbooks.core.errors import ParseError, UsageError
from runbooks.net.collect import master_peers, schedule, worst_case_seconds
from runbooks.net.parse import (
    STATUS_OK,
    STATUS_REFUSED,
    STATUS_TIMEOUT,
    ChunkServer,
    Peer,
    parse_connect_times,
    parse_lizardfs_servers,
    parse_mfscli_json,
    parse_mfscli_servers,
    split_host_port,
    unique,
)
from tests.helpers import DATA

NET = DATA / "net"


def read(name):
    return (NET / name).read_text()


def test_fault_capture_times_every_connect_and_reads_the_counter():
    probe = parse_connect_times(read("cs3-first-packet-drop.txt"))
    assert len(probe.attempts) == 21  # 4 chunkservers x 3, 3 master ports x 3
    assert probe.addresses["master"] == "172.30.0.2"
    assert (probe.syn_before, probe.syn_after, probe.syn_retrans) == (12, 15, 3)
    cs3 = [a for a in probe.attempts if a.peer == Peer("172.30.0.5", 9422)]
    assert [a.slot for a in cs3] == [1, 2, 3]
    assert [round(a.seconds, 2) for a in cs3] == [1.06, 1.04, 1.04]
    assert {a.status for a in probe.attempts} == {STATUS_OK}
    master = [(a.slot, a.peer.port) for a in probe.attempts if a.peer.host == "master"]
    assert master == [(1, 9419), (2, 9420), (3, 9421), (4, 9419), (5, 9420), (6, 9421),
                      (7, 9419), (8, 9420), (9, 9421)]


def test_roles_come_back_from_the_peers_asked_for():
    peers = master_peers(Peer("master", 9421, "master"))
    probe = parse_connect_times(read("healthy.txt"), peers)
    assert {a.peer.role for a in probe.attempts if a.peer.host == "master"} == {"master"}
    assert probe.syn_retrans == 0


def test_refused_timed_out_and_unresolved_are_told_apart():
    probe = parse_connect_times(read("unreachable.txt"))
    by_peer = {(str(a.peer), a.status, a.error) for a in probe.attempts}
    assert ("172.30.0.4:1234", STATUS_REFUSED, "Connection refused") in by_peer
    assert ("172.30.0.6:9422", STATUS_TIMEOUT, "") in by_peer
    assert ("172.30.0.3:9422", STATUS_OK, "") in by_peer
    assert probe.unresolved == {"no-such-host.invalid": "no address found"}


def test_output_cut_short_is_an_error_not_fewer_attempts():
    text = read("healthy.txt")
    with pytest.raises(ParseError, match="no 'end' line"):
        parse_connect_times(text.replace("end\n", ""))
    with pytest.raises(ParseError, match="line 2"):
        parse_connect_times("synretrans\tbefore\t1\nconnect\tx\n")


def test_unreadable_counter_is_none():
    probe = parse_connect_times("synretrans\tbefore\t-\nsynretrans\tafter\t-\nend\n")
    assert probe.syn_retrans is None


@pytest.mark.parametrize(("spec", "peer"), [
    ("cs1:9422", Peer("cs1", 9422)),
    ("172.30.0.5:9422", Peer("172.30.0.5", 9422)),
    ("[fd00::5]:9422", Peer("[fd00::5]", 9422)),
    (" master.example.org:9421 ", Peer("master.example.org", 9421)),
])
def test_peers(spec, peer):
    assert split_host_port(spec) == peer


@pytest.mark.parametrize("spec", [
    "cs1", "cs1:0", "cs1:65536", "cs1:http", "$(touch /tmp/pwned):9422", "a b:1",
    "-oProxyCommand=x:22", "cs1:9422;reboot", "`id`:1", "a..b:1", "[fd00::5]x:1", ":22",
])
def test_hostile_or_broken_peers_are_refused(spec):
    with pytest.raises(UsageError):
        split_host_port(spec)


def test_master_without_port_gets_the_client_port():
    master = split_host_port("master", 9421, "master")
    assert [str(p) for p in master_peers(master)] == ["master:9419", "master:9420",
                                                      "master:9421"]
    other = split_host_port("m:19421", 9421, "master")
    assert [p.port for p in master_peers(other)] == [9419, 9420, 19421]


def test_unique_keeps_the_first_role():
    peers = unique([Peer("m", 9421), Peer("m", 9421, "master"), Peer("m", 9420, "master")])
    assert peers == [Peer("m", 9421), Peer("m", 9420, "master")]


def test_schedule_never_puts_two_connects_to_one_host_in_one_slot():
    peers = [*master_peers(Peer("m", 9421, "master")), Peer("cs1", 9422), Peer("cs2", 9422)]
    plan = schedule(peers, 3)
    assert len(plan) == 15
    slots = {}
    for slot, peer in plan:
        assert peer.host not in slots.setdefault(slot, set())
        slots[slot].add(peer.host)
    assert [slot for slot, p in plan if p.host == "cs1"] == [1, 2, 3]
    assert max(slot for slot, _ in plan) == 9
    # Every lookup and connect at its 4 s limit, and 8 pauses of 2.5 s.
    assert worst_case_seconds(plan, 2.5) == (3 + 9) * 4 + 8 * 2.5


def test_mfscli_moosefs3_lists_connected_and_disconnected_servers():
    assert parse_mfscli_servers(read("mfscli-scs-moosefs3.txt")) == [
        ChunkServer(f"172.30.0.{n}", 9422, True) for n in range(3, 7)]
    degraded = parse_mfscli_servers(read("mfscli-scs-moosefs3-degraded.txt"))
    assert [(s.host, s.connected) for s in degraded] == [
        ("172.21.0.3", True), ("172.21.0.4", False), ("172.21.0.5", False),
        ("172.21.0.6", False)]


def test_mfscli_moosefs4_tab_and_json():
    assert parse_mfscli_servers(read("mfscli-scs-moosefs4.txt")) == [
        ChunkServer(f"172.28.0.{n}", 9422, True) for n in range(4, 8)]
    named = parse_mfscli_servers(read("mfscli-scs-moosefs4-3-stopped.txt"))
    assert named[0] == ChunkServer("bpp-cs1.bp-proto-net", 9422, True)
    assert [s.connected for s in named] == [True, False, False, False]
    assert parse_mfscli_json(read("mfscli-j-scs-moosefs4-3-stopped.json")) == [
        ChunkServer("172.22.0.3", 9422, True), ChunkServer("172.22.0.4", 9422, False),
        ChunkServer("172.22.0.5", 9422, False), ChunkServer("172.22.0.6", 9422, False)]


def test_lizardfs_porcelain():
    assert parse_lizardfs_servers(read("lizardfs-list-chunkservers.txt")) == [
        ChunkServer("172.28.0.6", 9422, False), ChunkServer("172.28.0.5", 9422, False),
        ChunkServer("172.28.0.4", 9422, False), ChunkServer("172.28.0.3", 9422, True)]


def test_a_hostile_name_from_a_master_is_refused():
    with pytest.raises(ParseError):
        parse_mfscli_servers("chunk servers:\t$(reboot)\t9422\t1\n")
    with pytest.raises(ParseError):
        parse_mfscli_json('{"dataset": {"chunkservers": [{"ip": "a;b", "port": 1}]}}')
    with pytest.raises(ParseError, match="not the expected JSON"):
        parse_mfscli_json("")
