"""module_utils against the real kernel, in a throwaway host.

tests/integration/run.sh starts pytest under `unshare --net --mount` with its own
/run/netns and /sys, so every namespace, link and table made here dies with it.
"""

import os
import subprocess

import pytest

from ansible_collections.swarmnet.overlay.plugins.module_utils.host import inspect
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import (
    dumps, endpoint, firewall, libnftables, links, netns, network, nft_listings, nftables, peers)
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import naming
from ansible_collections.swarmnet.overlay.plugins.module_utils.reconcile import Changes

LOCAL = "198.18.9.1"

if os.environ.get("SWARMNET_ISOLATED") != "1":
    pytest.skip("run through tests/integration/run.sh (isolated namespaces)", allow_module_level=True)


def ip(*args):
    subprocess.run(["ip"] + list(args), check=True, capture_output=True)


@pytest.fixture(autouse=True)
def host():
    """A host namespace with the underlay address on lo, and nothing else."""
    with netns.rtnl() as ipr:
        lo = ipr.link_lookup(ifname="lo")[0]
        ipr.link("set", index=lo, state="up")
        if LOCAL not in links.host_addresses(ipr):
            ipr.addr("add", index=lo, address=LOCAL, prefixlen=32)
    yield
    for name in netns.names():
        if name.startswith(naming.NETNS_PREFIX):
            network.ensure_absent(name[len(naming.NETNS_PREFIX):], Changes(False))
        else:
            endpoint.ensure_absent(name, Changes(False))
        if netns.exists(name):
            netns.remove(name)
    with netns.rtnl() as ipr:
        for lk in links.all_links(ipr):
            if lk["kind"] in ("vxlan", "veth"):
                links.delete(ipr, lk["index"])
    if nftables.exists(firewall.FAMILY, "t"):
        nftables.delete(firewall.FAMILY, "t")


def want(name="front", vni=4098, mtu=1450, port=4789):
    return {"name": name, "vni": vni, "gateway": "10.10.1.1/24", "local": LOCAL,
            "data_port": port, "mtu": mtu}


def converge(target, check=False):
    changes = Changes(check)
    network.ensure_present(target, changes)
    return changes.done


def test_network_is_created_then_left_alone():
    done = converge(want())
    assert done[0] == "create namespace swarmnet-front"
    assert network.summary(network.observe("front")) == network.desired_summary(want())
    assert converge(want()) == []


def test_check_mode_predicts_the_real_run_and_creates_nothing():
    predicted = converge(want(), check=True)
    assert not netns.exists("swarmnet-front")
    assert converge(want()) == predicted


def test_drift_is_repaired_in_one_pass():
    converge(want())
    ip("-n", "swarmnet-front", "link", "set", "br0", "mtu", "1400")
    ip("-n", "swarmnet-front", "link", "del", "vx-4098")
    ip("-n", "swarmnet-front", "link", "add", "vx-4098", "type", "vxlan", "id", "4098", "dstport", "4800")
    ip("-n", "swarmnet-front", "link", "add", "junk0", "type", "veth", "peer", "name", "junk1")
    predicted = converge(want(), check=True)
    done = converge(want())
    assert done == predicted
    assert "delete foreign link junk0 from swarmnet-front" in done
    assert network.summary(network.observe("front")) == network.desired_summary(want())
    assert converge(want()) == []


def test_leftover_of_an_interrupted_run_is_replaced():
    with netns.rtnl() as ipr:     # created and marked, but the run died before the move
        ipr.link("add", ifname="vx-4098", kind="vxlan", vxlan_id=4098, vxlan_port=4789)
        ipr.link("set", index=ipr.link_lookup(ifname="vx-4098")[0], ifalias=network.VXLAN_ALIAS + "front")
    network.preflight(want(), None)      # its own leftover is no conflict
    done = converge(want())
    assert done[0] == "delete leftover vx-4098 in the host namespace"
    assert network.summary(network.observe("front"))["vni"] == 4098


def test_vni_used_elsewhere_and_foreign_local_are_refused():
    ip("link", "add", "other0", "type", "vxlan", "id", "4098", "dstport", "4789")
    with pytest.raises(network.NetworkError, match="VNI 4098 .* device other0 in the host namespace"):
        network.preflight(want(), None)
    with pytest.raises(network.NetworkError, match="advertise address 198.18.9.99 is not on this host"):
        network.preflight(dict(want(), local="198.18.9.99"), None)


def test_a_converged_network_is_not_searched_for_again():
    converge(want())
    ip("netns", "add", "elsewhere")
    ip("-n", "elsewhere", "link", "add", "other0", "type", "vxlan", "id", "4098", "dstport", "4789")
    # Its own device is right: nothing is to be created, so no namespace is searched for the VNI.
    network.preflight(want(), network.observe("front"))
    ip("-n", "swarmnet-front", "link", "del", "vx-4098")
    with pytest.raises(network.NetworkError, match="VNI 4098 .* device other0 in namespace elsewhere"):
        network.preflight(want(), network.observe("front"))


def test_absent_leaves_nothing():
    converge(want())
    changes = Changes(False)
    network.ensure_absent("front", changes)
    assert not netns.exists("swarmnet-front")
    with netns.rtnl() as ipr:
        assert [lk["ifname"] for lk in links.all_links(ipr) if lk["kind"] == "vxlan"] == []


def endpoints(*nets):
    addr = {"front": "10.10.1.5/24", "back": "10.10.2.5/24"}
    return [{"network": n, "netns": naming.network_netns(n), "ifname": "eth%d" % i,
             "address": addr[n], "mac": naming.endpoint_mac(addr[n].split("/")[0]), "mtu": 1450}
            for i, n in enumerate(nets)]


def attach(sandbox, eps, check=False):
    changes = Changes(check)
    endpoint.ensure_present(sandbox, eps, changes)
    return changes.done


def test_endpoints_attach_reorder_and_detach():
    converge(want("front", 4098))
    converge(dict(want("back", 4097), gateway="10.10.2.1/24"))
    predicted = attach("task", endpoints("front", "back"), check=True)
    assert not netns.exists("task")
    assert attach("task", endpoints("front", "back")) == predicted
    assert endpoint.summary(endpoint.observe("task")) == endpoint.desired_summary(endpoints("front", "back"))
    assert attach("task", endpoints("front", "back")) == []
    attach("task", endpoints("back", "front"))        # names swap
    assert endpoint.summary(endpoint.observe("task")) == endpoint.desired_summary(endpoints("back", "front"))
    attach("task", endpoints("back"))
    assert list(endpoint.observe("task")["endpoints"]) == ["back"]
    endpoint.ensure_absent("task", Changes(False))
    assert not netns.exists("task")


def test_a_namespace_the_collection_did_not_make_is_kept():
    converge(want())
    netns.create("podman-1")
    attach("podman-1", endpoints("front"))
    endpoint.ensure_absent("podman-1", Changes(False))
    assert netns.exists("podman-1") and endpoint.observe("podman-1")["endpoints"] == {}


def half_made(name):
    """What a run killed while it made namespace `name` leaves: the name's empty file, nothing bound on it."""
    open(os.path.join(netns.NETNS_DIR, name), "w").close()


def test_a_namespace_whose_making_was_killed_is_made_again():
    half_made("swarmnet-front")
    assert not netns.exists("swarmnet-front") and netns.names() == []
    assert converge(want())[0] == "create namespace swarmnet-front"
    assert network.summary(network.observe("front")) == network.desired_summary(want())
    half_made("task")
    assert attach("task", endpoints("front"))[0] == "create sandbox namespace task"
    assert endpoint.summary(endpoint.observe("task")) == endpoint.desired_summary(endpoints("front"))
    assert netns.names() == ["swarmnet-front", "task"]


def peer_set(count, vtep_base=1):
    return [{"ip": "10.10.%d.%d" % (1 + i // 200, 2 + i % 200), "mac": "02:42:0a:0a:%02x:%02x" % (1 + i // 200, 2 + i % 200),
             "vtep": "198.18.9.%d" % (vtep_base + i % 5)} for i in range(count)]


def test_peers_batch_adds_replaces_and_removes():
    converge(want())
    with netns.rtnl("swarmnet-front") as ipr:
        index = links.by_name(ipr, "vx-4098")["index"]
        first = peer_set(500)
        peers.apply(ipr, index, peers.diff(peers.read(ipr, index), peers.desired(first)))
        assert peers.read(ipr, index) == peers.desired(first)
        second = peer_set(300, vtep_base=10)      # 300 kept IPs on new VTEPs, 200 removed
        changes = peers.diff(peers.read(ipr, index), peers.desired(second))
        assert len(changes["fdb"]["add"]) == 300 and len(changes["neigh"]["remove"]) == 200
        peers.apply(ipr, index, changes)
        assert peers.read(ipr, index) == peers.desired(second)


def test_peer_errors_name_the_entry():
    converge(want())
    with netns.rtnl("swarmnet-front") as ipr:
        index = links.by_name(ipr, "vx-4098")["index"]
        bogus = {"fdb": {"add": [], "remove": [("02:42:00:00:00:09", "198.18.9.9")]},
                 "neigh": {"add": [], "remove": []}}
        with pytest.raises(peers.PeerError, match="remove fdb 02:42:00:00:00:09 198.18.9.9: errno 2"):
            peers.apply(ipr, index, bogus)


def test_a_reader_dumps_what_iproute_dumps():
    """Every read the modules make through dumps.Reader, against pyroute2's IPRoute on the same objects:
    a network with 300 peers (answers of several datagrams), a sandbox with two endpoints and a
    default route, the host namespace."""
    converge(want("front", 4098))
    converge(dict(want("back", 4097), gateway="10.10.2.1/24"))
    sandbox = "task-r"
    attach(sandbox, endpoints("front", "back"))
    with netns.rtnl(sandbox) as ipr:
        eth1 = ipr.link_lookup(ifname="eth1")[0]
        ipr.route("replace", dst="0.0.0.0/0", gateway="10.10.2.1", oif=eth1)
    with netns.rtnl("swarmnet-front") as ipr:
        index = links.by_name(ipr, "vx-4098")["index"]
        peers.apply(ipr, index, peers.diff(peers.read(ipr, index), peers.desired(peer_set(300))))
    reads = (links.all_links, links.ipv4_addresses_by_link, links.host_addresses, endpoint._default_routes)
    for where in (None, sandbox, "swarmnet-front"):
        with netns.rtnl(where) as ipr, dumps.Reader(where) as reader:
            for read in reads:
                assert read(reader) == read(ipr), (where, read.__name__)
            for lk in links.all_links(ipr):
                assert links.ipv4_addresses(reader, lk["index"]) == links.ipv4_addresses(ipr, lk["index"])
                assert reader.get_links(lk["index"])[0]["index"] == lk["index"]
    with netns.rtnl("swarmnet-front") as ipr, dumps.Reader("swarmnet-front") as reader:
        assert peers.read(reader, index) == peers.read(ipr, index) == peers.desired(peer_set(300))
    with dumps.Reader(sandbox) as reader:
        assert endpoint._default_routes(reader) == [("10.10.2.1", eth1)]


def test_a_reader_stays_in_its_namespace_and_names_a_missing_one():
    converge(want())
    with dumps.Reader("swarmnet-front") as reader:
        assert {lk["ifname"] for lk in links.all_links(reader)} >= {"lo", "br0", "vx-4098"}
    with dumps.Reader() as reader:
        assert "br0" not in {lk["ifname"] for lk in links.all_links(reader)}
    with pytest.raises(FileNotFoundError, match="no-such-sandbox"):
        dumps.Reader("no-such-sandbox")


def test_firewall_table_compares_in_nft_form():
    body = firewall.render("t", ["198.18.9.3", "198.18.9.2"], [7946], [7946, 4789])
    assert nftables.current("inet", "t") is None
    nftables.replace("inet", "t", body)
    assert nftables.current("inet", "t") == nftables.canonical("inet", "t", body)
    other = firewall.render("t", ["198.18.9.2"], [7946], [7946, 4789])
    assert nftables.current("inet", "t") != nftables.canonical("inet", "t", other)
    assert nftables.counters("inet", "t") == {"peer_accepted": 0, "others_dropped": 0}


def test_a_listing_kept_from_an_earlier_run_spares_the_scratch_namespace_and_only_ever_says_the_same(monkeypatch, tmp_path):
    """nft_listings: a second process (caches cleared) tells a table is as wanted from the kept listing,
    without listing the text again; a kept listing that no longer matches is listed again before the
    table is called different."""
    monkeypatch.setattr(nft_listings, "directory", lambda: str(tmp_path))
    body = firewall.render("t", ["198.18.9.2"], [7946], [7946, 4789])
    nftables.replace("inet", "t", body)
    nftables.canonical.cache_clear(), nftables._listed_in_scratch.cache_clear()
    assert not nftables.differs("inet", "t", body)          # listed in a scratch namespace, and kept
    assert len(os.listdir(tmp_path)) == 1

    def no_scratch(cmd, stdin=None):
        raise AssertionError("listed again: %s" % cmd)
    nftables.canonical.cache_clear(), nftables._listed_in_scratch.cache_clear()     # as a new module run
    monkeypatch.setattr(nftables, "_run", no_scratch)
    assert not nftables.differs("inet", "t", body)
    monkeypatch.undo()

    monkeypatch.setattr(nft_listings, "directory", lambda: str(tmp_path))
    for kept in os.listdir(tmp_path):                        # what an older nft printed, say
        (tmp_path / kept).write_text((tmp_path / kept).read_text().replace("7946", "7947"))
    nftables.canonical.cache_clear(), nftables._listed_in_scratch.cache_clear()
    assert not nftables.differs("inet", "t", body)          # listed again, found the same
    assert nftables.differs("inet", "t", firewall.render("t", ["198.18.9.3"], [7946], [7946, 4789]))


def test_a_listing_is_not_kept_where_the_virtualenv_is_gone(monkeypatch, tmp_path):
    monkeypatch.setattr(nft_listings, "directory", lambda: str(tmp_path / "venv" / nft_listings.DIRNAME))
    nft_listings.keep("inet", "t", "text", False, "listing")
    assert not (tmp_path / "venv").exists()         # a teardown removed it: not made again
    (tmp_path / "venv").mkdir()
    nft_listings.keep("inet", "t", "text", False, "listing")
    assert nft_listings.kept("inet", "t", "text", False) == "listing"


def test_kept_listings_are_bounded(monkeypatch, tmp_path):
    monkeypatch.setattr(nft_listings, "directory", lambda: str(tmp_path))
    monkeypatch.setattr(nft_listings, "MAX_KEPT", 4)
    for i in range(5):          # the fifth goes past 4: the oldest three go
        nft_listings.keep("inet", "t", "text %d" % i, False, "listing %d" % i)
        if i < 4:
            os.utime(nft_listings._path("inet", "t", "text %d" % i, False), (i, i))
    assert [nft_listings.kept("inet", "t", "text %d" % i, False) for i in range(5)] == \
        [None, None, None, "listing 3", "listing 4"]


def test_info_reports_what_is_there():
    converge(want())
    attach("task", endpoints("front"))
    with netns.rtnl("swarmnet-front") as ipr:
        index = links.by_name(ipr, "vx-4098")["index"]
        peers.apply(ipr, index, peers.diff(peers.read(ipr, index), peers.desired(peer_set(2))))
    state = inspect.host_state(LOCAL)
    net = state["networks"][0]
    assert (net["name"], net["vni"], net["data_port"], net["local"], net["mtu"]) == ("front", 4098, 4789, LOCAL, 1450)
    assert [p["ip"] for p in net["peers"]] == ["10.10.1.2", "10.10.1.3"]
    assert state["endpoints"] == [{"sandbox": "task", "network": "front", "ifname": "eth0", "ip": "10.10.1.5",
                                   "address": ["10.10.1.5/24"], "mac": "02:42:0a:0a:01:05", "mtu": 1450}]


def test_networks_and_their_peers_in_one_module_run_each(run_module):
    nets = [want("front", 4098), dict(want("back", 4099), gateway="10.10.2.1/24")]
    bad = run_module("overlay_network", networks=nets + [dict(want("third", 4100), colour="blue")])
    assert bad["failed"] and bad["msg"].startswith("networks[2]: colour"), bad
    assert not netns.exists("swarmnet-front")                  # refused before any network was made
    predicted = run_module("overlay_network", check=True, networks=nets)
    assert predicted["changed"] and not netns.exists("swarmnet-front")
    made = run_module("overlay_network", networks=nets)
    assert [(r["name"], r["changed"]) for r in made["results"]] == [("network front", True), ("network back", True)]
    assert made["actions"] == predicted["actions"]             # check mode told exactly what the run did
    assert run_module("overlay_network", networks=nets)["changed"] is False

    sets = {"front": peer_set(3), "back": peer_set(2, vtep_base=3), "gone": peer_set(1)}
    result = run_module("vxlan_peer", networks=sets)
    assert result["failed"] and result["msg"].startswith("network gone: not on this host"), result
    assert [(r["name"], r.get("peers")) for r in result["results"]] == \
        [("network back", 2), ("network front", 3), ("network gone", None)]
    del sets["gone"]
    assert run_module("vxlan_peer", networks=sets)["changed"] is False
    with netns.rtnl("swarmnet-back") as ipr:
        assert peers.read(ipr, links.by_name(ipr, "vx-4099")["index"]) == peers.desired(sets["back"])
    assert run_module("vxlan_peer", networks=sets, state="absent")["changed"]


def test_a_whole_host_in_one_module_run(run_module, tmp_path):
    nets = [want("front", 4098), dict(want("back", 4099), gateway="10.10.2.1/24")]
    host = dict(networks=nets, gateway_bridge={"address": "172.30.0.1/16"}, state_dir=str(tmp_path),
                sandboxes=[{"name": "task", "endpoints": endpoints("front", "back")}],
                peers={"front": peer_set(3), "back": peer_set(2, vtep_base=3)})
    bad = run_module("overlay_host", **dict(host, peers={"front": [dict(peer_set(1)[0], vtep="198.18.9")]}))
    assert bad["failed"] and "peers.front[0]" in bad["msg"] and "198.18.9" in bad["msg"], bad
    assert not netns.exists("swarmnet-front")                  # refused before any kind was applied
    predicted = run_module("overlay_host", check=True, **host)
    assert predicted["changed"] and not netns.exists("swarmnet-front") and not netns.exists("task")
    made = run_module("overlay_host", **host)
    assert made["actions"] == predicted["actions"]             # check mode told exactly what the run did
    assert [r["name"] for r in made["networks"] + made["gateway_bridge"] + made["sandboxes"] + made["peers"]] == \
        ["network front", "network back", "bridge swarmnet_gwbr", "sandbox task", "network back", "network front"]
    assert endpoint.summary(endpoint.observe("task")) == endpoint.desired_summary(endpoints("front", "back"))
    with netns.rtnl("swarmnet-back") as ipr:
        assert peers.read(ipr, links.by_name(ipr, "vx-4099")["index"]) == peers.desired(host["peers"]["back"])
    again = run_module("overlay_host", **host)
    assert again["changed"] is False and again["actions"] == [] and again["diff"] == []

    # back goes: the sandbox leaves it first, its peers are not given, the network goes last
    gone = run_module("overlay_host", **dict(host, networks=nets[:1], peers={"front": peer_set(3)}, absent_networks=["back"],
                                             sandboxes=[{"name": "task", "endpoints": endpoints("front")}]))
    assert gone["changed"] and not netns.exists("swarmnet-back") and list(endpoint.observe("task")["endpoints"]) == ["front"]
    assert gone["actions"].index("sandbox task: %s" % gone["sandboxes"][0]["actions"][0]) < \
        gone["actions"].index("network back: %s" % gone["networks"][-1]["actions"][0])


def test_a_kind_that_fails_stops_the_kinds_after_it(run_module, tmp_path):
    converge(want("front", 4098))
    # the same VNI on a second network: refused by the network step, so no sandbox or peer is made
    host = dict(networks=[want("front", 4098), dict(want("clash", 4098), gateway="10.10.2.1/24")],
                sandboxes=[{"name": "task", "endpoints": endpoints("front")}], peers={"front": peer_set(2)},
                state_dir=str(tmp_path))
    result = run_module("overlay_host", **host)
    assert result["failed"] and result["msg"].startswith("network clash: "), result
    assert [(r["name"], r.get("failed", False)) for r in result["networks"]] == \
        [("network front", False), ("network clash", True)]
    assert result["sandboxes"] == [] and result["peers"] == [] and not netns.exists("task")


def test_a_whole_host_removed_in_one_module_run(run_module, tmp_path):
    host = dict(networks=[want("front", 4098)], gateway_bridge={"address": "172.30.0.1/16"}, state_dir=str(tmp_path),
                sandboxes=[{"name": "task", "endpoints": endpoints("front")}], peers={"front": peer_set(2)})
    assert run_module("overlay_host", **host)["changed"]
    names = dict(networks=[{"name": "front"}], sandboxes=[{"name": "task"}], gateway_bridge={"state": "absent"},
                 state_dir=str(tmp_path), state="absent")
    predicted = run_module("overlay_host", check=True, **names)
    assert predicted["changed"] and netns.exists("task")
    removed = run_module("overlay_host", **names)
    # Check mode covers the run: it also names the network's end of the sandbox's veth, which the
    # network step of a real run no longer finds (the sandbox step took the pair away).
    assert set(removed["actions"]) <= set(predicted["actions"])
    assert [a for a in predicted["actions"] if a not in removed["actions"]] == \
        [a for a in predicted["actions"] if a.startswith("network front: delete swv-")]
    with netns.rtnl() as ipr:
        assert links.by_name(ipr, "swarmnet_gwbr") is None
    assert not netns.exists("task") and not netns.exists("swarmnet-front")
    assert run_module("overlay_host", **names)["changed"] is False


def test_nft_commands_in_this_process_as_the_nft_program_runs_them(monkeypatch):
    """libnftables where it loads, the nft program where it does not: the same tables, listings and errors
    (the listing is compared as text with the nft program's listing of the desired table)."""
    table = "table inet swtest {\n\tchain c {\n\t\ttype filter hook input priority 0; policy accept;\n" \
            "\t\tip saddr 10.9.0.1 drop\n\t}\n}\n"
    assert libnftables.available()
    seen = []
    for library in ("loaded", "missing"):
        if library == "missing":
            monkeypatch.setattr(libnftables, "_library", [None])
        nftables.replace("inet", "swtest", table)
        seen.append((nftables.listed("inet", "swtest"), nftables.current("inet", "swtest")))
        assert not nftables.differs("inet", "swtest", table, seen[-1][1])
        with pytest.raises(nftables.NftError, match="nft delete table inet swtest_none failed: Error"):
            nftables.delete("inet", "swtest_none")
        nftables.delete("inet", "swtest")
        assert nftables.listed("inet", "swtest") is None
    assert seen[0] == seen[1]
    assert seen[0][0] == nftables.canonical_text("inet", "swtest", table)
