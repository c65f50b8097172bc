"""Pure helpers: names, MACs, peer diffs, firewall rendering."""

from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import firewall, peers
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import naming


def test_names_fit_the_kernel_limit():
    assert naming.vxlan_name(naming.MAX_VNI) == "vx-16777215"
    assert len(naming.veth_host_name("a" * 64, "b" * 40)) <= 15
    assert naming.veth_host_name("s", "n") != naming.veth_host_name("s", "m")


def test_mac_is_derived_from_ip():
    assert naming.endpoint_mac("10.255.0.2") == "02:42:0a:ff:00:02"


def test_peer_diff_adds_replaces_and_removes():
    current = ({"10.0.0.2": "02:42:0a:00:00:02", "10.0.0.9": "02:42:0a:00:00:09"},
               {"02:42:0a:00:00:02": "198.18.0.11", "02:42:0a:00:00:09": "198.18.0.12"})
    wanted = peers.desired([{"ip": "10.0.0.2", "mac": "02:42:0A:00:00:02", "vtep": "198.18.0.13"},
                            {"ip": "10.0.0.3", "mac": "02:42:0a:00:00:03", "vtep": "198.18.0.12"}])
    changes = peers.diff(current, wanted)
    assert changes["fdb"]["add"] == [("02:42:0a:00:00:02", "198.18.0.13"),
                                     ("02:42:0a:00:00:03", "198.18.0.12")]
    assert changes["fdb"]["remove"] == [("02:42:0a:00:00:09", "198.18.0.12")]
    assert changes["neigh"]["add"] == [("10.0.0.3", "02:42:0a:00:00:03")]
    assert changes["neigh"]["remove"] == [("10.0.0.9", "02:42:0a:00:00:09")]


def test_peer_diff_of_equal_sets_is_empty():
    wanted = peers.desired([{"ip": "10.0.0.2", "mac": "02:42:0a:00:00:02", "vtep": "198.18.0.13"}])
    changes = peers.diff(wanted, wanted)
    assert all(not changes[t][w] for t in changes for w in ("add", "remove"))


def test_firewall_accepts_peers_before_dropping_others():
    text = firewall.render("t", ["198.18.0.12", "198.18.0.11"], [7946], [7946, 4789])
    assert "elements = { 198.18.0.11, 198.18.0.12 }" in text
    lines = [line.strip() for line in text.splitlines() if "dport" in line]
    assert lines[0].startswith("tcp dport { 7946 } ip saddr @peers") and lines[1].endswith("drop")
    assert lines[2].startswith("udp dport { 4789, 7946 } ip saddr @peers")


def test_stamped_messages_equal_pyroute2_encoding():
    entries = {"fdb": ("02:42:0a:00:01:07", "198.18.0.12"), "neigh": ("10.0.1.7", "02:42:0a:00:01:07")}
    for kind, (key, value) in entries.items():
        for remove in (True, False):
            stamped = peers._Stamp(kind, 5, remove)(key, value, 0x5123)
            assert bytes(stamped) == bytes(peers._message(kind, 5, key, value, remove, 0x5123))
