"""Encrypted overlays against this kernel (it has XFRM but no ESP; SAs are tested in the VMs).

The guard table must drop an encrypted VNI's plaintext VXLAN both ways and let others
pass; the firewall must take ESP from cluster peers only; outbound policies must round-trip
through the hand-declared XFRM messages.
"""

import json
import os
import socket
import struct
import subprocess

import pytest

from ansible_collections.swarmnet.overlay.plugins.module_utils.host import files
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import encryption, firewall, netns, nftables, xfrm
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import esp
from ansible_collections.swarmnet.overlay.plugins.module_utils.reconcile import Changes

LOCAL, PEER = "198.18.9.1", "198.18.9.2"

if os.environ.get("SWARMNET_ISOLATED") != "1":
    pytest.skip("run through tests/integration/run.sh (isolated namespaces)", allow_module_level=True)


def ip(*args):
    subprocess.run(["ip"] + list(args), check=True, capture_output=True)


@pytest.fixture()
def peer():
    """A peer host (namespace `peer`) on a veth: LOCAL here, PEER there."""
    netns.create("peer")
    ip("link", "add", "u0", "type", "veth", "peer", "name", "u1", "netns", "peer")
    ip("addr", "add", LOCAL + "/24", "dev", "u0")
    ip("link", "set", "u0", "up")
    ip("-n", "peer", "addr", "add", PEER + "/24", "dev", "u1")
    ip("-n", "peer", "link", "set", "u1", "up")
    ip("-n", "peer", "link", "set", "lo", "up")
    yield
    ip("link", "del", "u0")
    netns.remove("peer")
    if nftables.exists(esp.FAMILY, esp.TABLE):
        nftables.delete(esp.FAMILY, esp.TABLE)


def vxlan(vni):
    return struct.pack("!II", 0x08000000, vni << 8) + b"\x02" * 60     # header + a stand-in frame


def listener(address):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 4789))
    sock.settimeout(0.5)
    return sock


def received(sock):
    got = []
    try:
        while True:
            got.append(struct.unpack("!I", sock.recv(2048)[4:8])[0] >> 8)
    except socket.timeout:
        return got


def send_from(address, to, vni):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 0))
    try:
        sock.sendto(vxlan(vni), (to, 4789))
    finally:
        sock.close()


def test_plaintext_of_an_encrypted_vni_is_dropped_both_ways(peer):
    nftables.replace(esp.FAMILY, esp.TABLE, esp.render([{"vni": 4097, "data_port": 4789}]))
    here = listener(LOCAL)
    with netns.inside("peer"):
        there = listener(PEER)
        send_from(PEER, LOCAL, 4097)        # plaintext of the encrypted VNI, from the peer's own address
        send_from(PEER, LOCAL, 4098)        # another VNI: not ours to guard
    assert received(here) == [4098]
    with pytest.raises(PermissionError):    # no policy, no SA: dropped before it leaves (EPERM)
        send_from(LOCAL, PEER, 4097)
    send_from(LOCAL, PEER, 4098)
    with netns.inside("peer"):
        assert received(there) == [4098]
    assert nftables.counters(esp.FAMILY, esp.TABLE) == {"plaintext_in_dropped": 1, "plaintext_out_dropped": 1}


def send_esp(source, to, count):
    """IP protocol 50 datagrams from `source` (this kernel has no ESP, so they are only ever counted)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, xfrm.IPPROTO_ESP)
    sock.bind((source, 0))
    try:
        for sequence in range(1, count + 1):
            sock.sendto(struct.pack("!II", 0x100, sequence) + bytes(40), (to, 0))     # SPI, sequence, a body
    finally:
        sock.close()


def test_firewall_takes_esp_from_cluster_peers_only(peer):
    stranger = "198.18.9.7"
    ip("-n", "peer", "addr", "add", stranger + "/24", "dev", "u1")
    nftables.replace(firewall.FAMILY, "fw_esp", firewall.render("fw_esp", [PEER], [], [], esp=True))
    try:
        with netns.inside("peer"):
            send_esp(PEER, LOCAL, 3)
            send_esp(stranger, LOCAL, 2)
        assert nftables.counters(firewall.FAMILY, "fw_esp") == {"peer_accepted": 3, "others_dropped": 2}
    finally:
        nftables.delete(firewall.FAMILY, "fw_esp")


def test_outbound_policies_round_trip():
    sock = xfrm.XfrmSocket()
    try:
        xfrm.put_policy(sock, LOCAL, PEER, 0x1234, esp.REQID, esp.MARK)
        xfrm.put_policy(sock, LOCAL, "198.18.9.3", 0x99, esp.REQID, (0x1, 0xF))    # not ours: another mark
        assert xfrm.policies(sock, esp.MARK) == [{"src": LOCAL, "dst": PEER, "spi": 0x1234}]
        xfrm.put_policy(sock, LOCAL, PEER, 0x5678, esp.REQID, esp.MARK)             # the switch: replaced
        assert xfrm.policies(sock, esp.MARK) == [{"src": LOCAL, "dst": PEER, "spi": 0x5678}]
        xfrm.delete_policy(sock, LOCAL, PEER, esp.MARK)
        assert xfrm.policies(sock, esp.MARK) == []
        assert len(xfrm.policies(sock, (0x1, 0xF))) == 1
        xfrm.delete_policy(sock, LOCAL, "198.18.9.3", (0x1, 0xF))
    finally:
        sock.close()


def test_a_kernel_without_esp_is_told_apart():
    """This kernel has XFRM but not ESP (CONFIG_INET_ESP unset): the probe says so, adding says why."""
    assert xfrm.esp_available() is False
    sock = xfrm.XfrmSocket()
    try:
        with pytest.raises(netns.KERNEL_ERRORS):
            xfrm.add_state(sock, LOCAL, PEER, 0x100, esp.REQID, bytes(20))
        assert xfrm.states(sock, esp.REQID) == []
    finally:
        sock.close()


STALE = ["guard of vni 4242 (port 4789), kept from the last run", "policy out %s > %s" % (LOCAL, PEER)]


@pytest.fixture()
def stale_encryption(tmp_path):
    """(state_dir, XFRM socket) as a last run left them: network `gone` (VNI 4242) guarded and kept in
    the state directory, and a policy to PEER, a peer that went since."""
    state_dir = str(tmp_path)
    kept = {"name": "gone", "vni": 4242, "data_port": 4789}
    files.write(encryption.kept_path(state_dir), encryption.kept_text([kept], {1: bytes(20)}, 1), 0o600)
    nftables.replace(esp.FAMILY, esp.TABLE, esp.render([kept]))
    sock = xfrm.XfrmSocket()
    xfrm.put_policy(sock, LOCAL, PEER, 0x1234, esp.REQID, esp.MARK)
    yield state_dir, sock
    for policy in xfrm.policies(sock, esp.MARK):
        xfrm.delete_policy(sock, policy["src"], policy["dst"], esp.MARK)
    sock.close()
    if nftables.exists(esp.FAMILY, esp.TABLE):
        nftables.delete(esp.FAMILY, esp.TABLE)


def test_a_run_that_only_adds_says_what_a_pruning_run_would_remove(stale_encryption):
    """The encryption step that runs before the devices change only adds: a network guarded since the
    last run and a policy to a peer no longer wanted are reported, not removed; the pruning step removes
    them; after it, nothing is stale."""
    state_dir, sock = stale_encryption
    adding = Changes(False)
    assert encryption.ensure(LOCAL, [], [], {}, None, state_dir, adding, prune=False, sock=sock) == STALE
    assert xfrm.policies(sock, esp.MARK) == [{"src": LOCAL, "dst": PEER, "spi": 0x1234}]
    assert nftables.exists(esp.FAMILY, esp.TABLE)

    pruning = Changes(False)
    assert encryption.ensure(LOCAL, [], [], {}, None, state_dir, pruning, prune=True, sock=sock) == []
    assert "remove policy out %s > %s" % (LOCAL, PEER) in pruning.done
    assert xfrm.policies(sock, esp.MARK) == []
    assert not nftables.exists(esp.FAMILY, esp.TABLE)
    assert not os.path.exists(encryption.kept_path(state_dir))

    assert encryption.ensure(LOCAL, [], [], {}, None, state_dir, Changes(False), prune=False, sock=sock) == []


def test_overlay_host_adds_first_and_removes_what_is_stale_last(run_module, stale_encryption):
    """overlay_host's encryption: one step before the devices that only adds, and one after them that
    removes what the first found stale, in the same module run; check mode tells what the run then
    does; encrypted networks on a kernel without ESP are refused before anything changes."""
    state_dir, sock = stale_encryption
    host = dict(encryption={"local": LOCAL, "networks": []}, state_dir=state_dir)
    refused = run_module("overlay_host", **dict(
        host, encryption={"local": LOCAL, "peers": [PEER], "networks": [{"name": "front", "vni": 4098}],
                          "keyring": {"primary": 1, "keys": [{"tag": 1, "key": "ab" * 20}]}},
        sandboxes=[{"name": "task", "endpoints": []}]))
    assert refused["failed"] and refused["msg"].startswith("encryption.networks front: this host's kernel has no ESP")
    assert "ab" * 20 not in json.dumps(refused) and not netns.exists("task")

    predicted = run_module("overlay_host", check=True, **host)
    assert xfrm.policies(sock, esp.MARK) and nftables.exists(esp.FAMILY, esp.TABLE)    # nothing moved
    made = run_module("overlay_host", **host)
    assert made["actions"] == predicted["actions"]
    assert [(r["name"], r["stale"]) for r in made["encryption"]] == [("encryption", STALE), ("encryption", [])]
    assert "encryption: remove policy out %s > %s" % (LOCAL, PEER) in made["actions"]
    assert xfrm.policies(sock, esp.MARK) == [] and not nftables.exists(esp.FAMILY, esp.TABLE)
    assert not os.path.exists(encryption.kept_path(state_dir))

    again = run_module("overlay_host", **host)
    assert again["changed"] is False and [r["stale"] for r in again["encryption"]] == [[]]    # no pruning step
