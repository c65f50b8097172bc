"""The plan: validation errors name host, key and value; allocations are stable."""

import ipaddress

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import plan
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan.plan import PlanError

NETS = [
    {"name": "ingress", "ingress": True, "subnet": "10.255.0.0/16"},
    {"name": "front", "subnet": "10.10.1.0/24"},
    {"name": "back", "subnet": "10.10.2.0/24"},
]


def hosts(**sandboxes):
    out = {}
    for i, name in enumerate(("h1", "h2", "h3")):
        out[name] = {"advertise_addr": "198.18.0.%d" % (11 + i),
                     "sandboxes": sandboxes.get(name, [])}
    return out


def cluster():
    return hosts(h1=[{"name": "a", "networks": ["ingress", "front", "back"]}],
                 h2=[{"name": "b", "networks": ["front", "back"]}],
                 h3=[{"name": "c", "networks": ["front"]}])


def errors_of(networks, hosts_, reported=None):
    with pytest.raises(PlanError) as exc:
        plan.build(networks, hosts_, reported, source="h1")
    return exc.value.errors


def test_vnis_gateways_ips_and_macs():
    result = plan.build(NETS, cluster())["hosts"]
    h1 = result["h1"]
    vnis = {n["name"]: n["vni"] for n in h1["networks"]}
    assert vnis == {"ingress": 4096, "back": 4097, "front": 4098}
    front = next(n for n in h1["networks"] if n["name"] == "front")
    assert front["gateway"] == "10.10.1.1/24" and front["mtu"] == 1450 and front["data_port"] == 4789
    eps = {e["network"]: e for e in h1["sandboxes"][0]["endpoints"]}
    assert eps["front"]["address"] == "10.10.1.2/24"
    assert eps["front"]["mac"] == "02:42:0a:0a:01:02"
    assert [e["ifname"] for e in h1["sandboxes"][0]["endpoints"]] == ["eth0", "eth1", "eth2"]
    # peers of h1 on front are b and c, on their hosts' VTEPs
    assert h1["peers"]["front"] == [
        {"ip": "10.10.1.3", "mac": "02:42:0a:0a:01:03", "vtep": "198.18.0.12"},
        {"ip": "10.10.1.4", "mac": "02:42:0a:0a:01:04", "vtep": "198.18.0.13"}]


def test_ingress_on_every_host_user_networks_only_where_used():
    result = plan.build(NETS, cluster())["hosts"]
    assert [n["name"] for n in result["h3"]["networks"]] == ["front", "ingress"]
    assert result["h3"]["firewall"]["peers"] == ["198.18.0.11", "198.18.0.12"]
    assert result["h3"]["firewall"]["udp_ports"] == [4789, 7946]


def test_reported_allocations_are_kept():
    reported = {"h2": {"networks": [{"name": "front", "vni": 5000, "subnet": "10.10.1.0/24"}],
                       "endpoints": [{"sandbox": "b", "network": "front", "ip": "10.10.1.77"}]}}
    result = plan.build(NETS, cluster(), reported)["hosts"]
    assert next(n for n in result["h2"]["networks"] if n["name"] == "front")["vni"] == 5000
    b = {e["network"]: e for e in result["h2"]["sandboxes"][0]["endpoints"]}
    assert b["front"]["address"] == "10.10.1.77/24"


def test_removed_objects_are_listed_for_removal():
    reported = {"h3": {"networks": [{"name": "old", "vni": 4099}],
                       "endpoints": [{"sandbox": "gone", "network": "front", "ip": "10.10.1.9"}]}}
    result = plan.build(NETS, cluster(), reported)["hosts"]
    assert result["h3"]["absent_networks"] == ["old"]
    assert result["h3"]["absent_sandboxes"] == ["gone"]


def test_subnet_allocated_when_missing():
    nets = [{"name": "x"}, {"name": "y", "subnet": "10.0.0.0/24"}]
    result = plan.build(nets, hosts(h1=[{"name": "a", "networks": ["x", "y"]}]))["hosts"]
    x = next(n for n in result["h1"]["networks"] if n["name"] == "x")
    assert x["subnet"] == "10.0.1.0/24"


def test_underlay_mtu_lowers_the_network_mtu():
    hv = cluster()
    hv["h2"]["underlay_mtu"] = 1400
    result = plan.build(NETS, hv)["hosts"]
    assert {n["name"]: n["mtu"] for n in result["h1"]["networks"]}["front"] == 1350


@pytest.mark.parametrize("networks,hosts_,expected", [
    ([{"name": "a", "subnet": "10.0.0.0/16"}, {"name": "b", "subnet": "10.0.1.0/24"}], None,
     "host h1: swarmnet_networks[1].subnet='10.0.1.0/24': overlaps subnet 10.0.0.0/16 of network 'a'"),
    ([{"name": "a", "subnet": "10.0.0.0/24", "vni": 5000},
      {"name": "b", "subnet": "10.0.1.0/24", "vni": 5000}], None,
     "host h1: swarmnet_networks[1].vni=5000: VNI already used by network 'a'"),
    ([{"name": "a", "subnet": "10.0.0.0/24", "vni": 16777216}], None,
     "host h1: swarmnet_networks[0].vni=16777216: VNI must be an integer from 1 to 16777215"),
    ([{"name": "a", "subnet": "10.0.0.0/24", "vni": 0}], None,
     "host h1: swarmnet_networks[0].vni=0: VNI must be"),
    ([{"name": "a", "subnet": "10.0.0.0/24", "gateway": "10.0.1.1"}], None,
     "host h1: swarmnet_networks[0].gateway='10.0.1.1': not a host address of subnet 10.0.0.0/24"),
    ([{"name": "a", "subnet": "10.0.0.0/24"}, {"name": "a", "subnet": "10.0.1.0/24"}], None,
     "host h1: swarmnet_networks[1].name='a': network declared twice"),
    ([{"name": "a", "subnet": "10.0.0.0/24"}],
     {"h1": {"advertise_addr": "198.18.0.11", "sandboxes": []},
      "h2": {"advertise_addr": "198.18.0.11", "sandboxes": []}},
     "host h2: swarmnet_advertise_addr='198.18.0.11': already the advertise address of host h1"),
    ([{"name": "a", "subnet": "10.0.0.0/24"}],
     {"h1": {"advertise_addr": "198.18.0.11",
             "sandboxes": [{"name": "s", "networks": ["a"]}, {"name": "s", "networks": ["a"]}]}},
     "host h1: swarmnet_sandboxes[1].name='s': sandbox declared twice on this host"),
    ([{"name": "a", "subnet": "10.0.0.0/24"}],
     {"h1": {"advertise_addr": "198.18.0.11", "sandboxes": [{"name": "swarmnet-x", "networks": ["a"]}]}},
     "host h1: swarmnet_sandboxes[0].name='swarmnet-x': must match"),
    ([{"name": "a", "subnet": "10.0.0.0/24", "state": "absent"}],
     {"h1": {"advertise_addr": "198.18.0.11", "sandboxes": [{"name": "s", "networks": ["a"]}]}},
     "host h1: swarmnet_sandboxes[0].networks[0].network='a': network is state=absent"),
    ([{"name": "a", "gateway": "10.0.0.1"}], None,
     "host h1: swarmnet_networks[0].gateway='10.0.0.1': a gateway needs a subnet"),
    ([{"name": "a", "subnet": "10.0.0.0/33"}], None,
     "host h1: swarmnet_networks[0].subnet='10.0.0.0/33': not a valid IPv4 CIDR"),
    ([{"name": "a", "subnet": "10.0.0.1/24"}], None,
     "host h1: swarmnet_networks[0].subnet='10.0.0.1/24': not a valid IPv4 CIDR"),
    ([{"name": "i1", "ingress": True, "subnet": "10.1.0.0/16"},
      {"name": "i2", "ingress": True, "subnet": "10.2.0.0/16"}], None,
     "host h1: swarmnet_networks[1].ingress=True: network 'i1' is already the ingress network"),
    ([{"name": "a", "subnet": "10.0.0.0/24", "data_port": 70000}], None,
     "host h1: swarmnet_networks[0].data_port=70000: UDP port must be 1-65535"),
    ([{"name": "a", "subnet": "10.0.0.0/24"}],
     {"h2": {"advertise_addr": "198.18.0.12",
             "sandboxes": [{"name": "s", "networks": [{"network": "a", "ip": "10.0.9.5"}]}]}},
     "host h2: swarmnet_sandboxes[0].networks[0].ip='10.0.9.5': not a host address of network 'a'"),
    ([{"name": "a", "subnet": "10.0.0.0/24"}],
     {"h1": {"advertise_addr": "198.18.0.11",
             "sandboxes": [{"name": "s", "networks": [{"network": "a", "ip": "10.0.0.5"}]}]},
      "h2": {"advertise_addr": "198.18.0.12",
             "sandboxes": [{"name": "t", "networks": [{"network": "a", "ip": "10.0.0.5"}]}]}},
     "host h2: swarmnet_sandboxes[0].networks[0].ip='10.0.0.5': already used on network 'a' by h1/s"),
    ([{"name": "a", "subnet": "10.0.0.0/24"}],
     {"h3": {"advertise_addr": "198.18.0.13", "sandboxes": [{"name": "s", "networks": ["nope"]}]}},
     "host h3: swarmnet_sandboxes[0].networks[0].network='nope': unknown network"),
    ([{"name": "a", "subnet": "10.0.0.0/24"}],
     {"h2": {"advertise_addr": None, "sandboxes": []}},
     "host h2: swarmnet_advertise_addr=None: missing or not an IPv4 address"),
    ([{"name": "a", "subnet": "10.0.0.0/24"}],
     {"h2": {"advertise_addr": "198.18.0.300", "sandboxes": []}},
     "host h2: swarmnet_advertise_addr='198.18.0.300': missing or not an IPv4 address"),
    ([{"name": "A b", "subnet": "10.0.0.0/24"}], None,
     "host h1: swarmnet_networks[0].name='A b': must match"),
    ([{"name": "a", "subnet": "10.0.0.0/24", "mtu": 100}], None,
     "host h1: swarmnet_networks[0].mtu=100: MTU must be 1280-9000"),
])
def test_bad_input_is_refused_with_host_key_value(networks, hosts_, expected):
    errors = errors_of(networks, hosts_ or hosts())
    assert any(e.startswith(expected) for e in errors), errors


def test_advertise_address_must_be_on_its_host():
    reported = {"h2": {"addresses": ["127.0.0.1", "198.18.0.99"]}}
    assert errors_of(NETS, cluster(), reported) == [
        "host h2: swarmnet_advertise_addr='198.18.0.12': not an address of this host "
        "(it has 127.0.0.1, 198.18.0.99)"]


def test_every_problem_is_reported_at_once():
    nets = [{"name": "a", "subnet": "bad"}, {"name": "b", "subnet": "10.0.0.0/24", "vni": -1}]
    assert len(errors_of(nets, hosts())) == 2


def test_pool_exhaustion_names_the_sandbox():
    nets = [{"name": "tiny", "subnet": "10.0.0.0/30"}]
    hv = hosts(h1=[{"name": "s1", "networks": ["tiny"]}, {"name": "s2", "networks": ["tiny"]}])
    assert errors_of(nets, hv) == [
        "host h1: swarmnet_sandboxes[1].networks[0].ip=None: network 'tiny' (10.0.0.0/30) has no free address left"]


# --- properties -------------------------------------------------------------

sandbox_names = st.lists(st.sampled_from(["s%d" % i for i in range(12)]), unique=True, max_size=6)


@st.composite
def clusters(draw):
    hv = {}
    for i, host in enumerate(("h1", "h2", "h3")):
        boxes = []
        for name in draw(sandbox_names):
            nets = draw(st.lists(st.sampled_from(["ingress", "front", "back"]), unique=True,
                                 min_size=1, max_size=3))
            boxes.append({"name": name, "networks": nets})
        hv[host] = {"advertise_addr": "198.18.0.%d" % (11 + i), "sandboxes": boxes}
    return hv


def _all_endpoints(result):
    for host, desired in result["hosts"].items():
        for sb in desired["sandboxes"]:
            for ep in sb["endpoints"]:
                yield host, sb["name"], ep


def _as_reported(result):
    reported = {}
    for host, desired in result["hosts"].items():
        reported[host] = {
            "networks": [{"name": n["name"], "vni": n["vni"], "subnet": n["subnet"]}
                         for n in desired["networks"]],
            "endpoints": [{"sandbox": sb["name"], "network": ep["network"],
                           "ip": ep["address"].split("/")[0]}
                          for sb in desired["sandboxes"] for ep in sb["endpoints"]]}
    return reported


@settings(max_examples=150, deadline=None)
@given(clusters())
def test_allocations_never_collide(hv):
    result = plan.build(NETS, hv)
    seen = set()
    for _host, _sb, ep in _all_endpoints(result):
        key = (ep["network"], ep["address"])
        assert key not in seen
        seen.add(key)
        gateway = next(n["gateway"] for n in result["hosts"][_host]["networks"] if n["name"] == ep["network"])
        assert ep["address"] != gateway
        assert ipaddress.IPv4Interface(ep["address"]).network == ipaddress.IPv4Interface(gateway).network


@settings(max_examples=150, deadline=None)
@given(clusters(), clusters())
def test_live_endpoints_never_move(before, after):
    """Plan, report what was built, change the inventory: surviving endpoints keep their IPs."""
    first = plan.build(NETS, before)
    old = {(h, sb, ep["network"]): ep["address"] for h, sb, ep in _all_endpoints(first)}
    second = plan.build(NETS, after, _as_reported(first))
    for h, sb, ep in _all_endpoints(second):
        if (h, sb, ep["network"]) in old:
            assert ep["address"] == old[(h, sb, ep["network"])]


@settings(max_examples=100, deadline=None)
@given(clusters())
def test_same_input_same_plan(hv):
    first = plan.build(NETS, hv)
    assert plan.build(NETS, hv) == first
    # Planned against what it made, the plan is the same (drain lists name what now runs).
    again = plan.build(NETS, hv, _as_reported(first))
    for result in (first, again):
        for desired in result["hosts"].values():
            desired.pop("lb_drain")
            desired.pop("lb_fill")
    assert again == first


def test_a_host_that_did_not_report_keeps_the_addresses_the_others_know():
    # h3 is down this run: its sandbox c had 10.10.1.50 on front, which h1 and h2 have as a peer at
    # h3's VTEP. Allocating afresh would give 10.10.1.4 and move h3's peer entries on every host.
    reported = {
        "h1": {"endpoints": [{"sandbox": "a", "network": "front", "ip": "10.10.1.2"}],
               "networks": [{"name": "front", "peers": [
                   {"ip": "10.10.1.3", "mac": "x", "vtep": "198.18.0.12"},
                   {"ip": "10.10.1.50", "mac": "y", "vtep": "198.18.0.13"}]}]},
        "h2": {"endpoints": [{"sandbox": "b", "network": "front", "ip": "10.10.1.3"}]},
    }
    result = plan.build(NETS, cluster(), reported)["hosts"]
    assert {"ip": "10.10.1.50", "mac": "02:42:0a:0a:01:32", "vtep": "198.18.0.13"} in result["h1"]["peers"]["front"]
    assert [p["ip"] for p in result["h2"]["peers"]["front"]] == ["10.10.1.2", "10.10.1.50"]


def test_a_silent_hosts_tasks_keep_their_addresses_from_the_registry():
    services = [{"name": "web", "networks": ["front"],
                 "tasks": [{"host": "h3", "netns": "w3"}, {"host": "h1", "netns": "w1"}]}]
    first = plan.build(NETS, cluster(), {"h1": {}, "h2": {}, "h3": {}}, services=services)["hosts"]
    registered = first["h1"]["services"]
    w3 = next(t for t in registered[0]["tasks"] if t["host"] == "h3")["addresses"]["front"]
    moved = dict(registered[0], tasks=[dict(t, addresses={"front": "10.10.1.99"}) if t["host"] == "h3" else t
                                       for t in registered[0]["tasks"]])
    reported = {"h1": {"services": [moved]}, "h2": {}}
    again = plan.build(NETS, cluster(), reported, services=services)["hosts"]
    assert w3 != "10.10.1.99"
    assert "10.10.1.99" in [p["ip"] for p in again["h1"]["peers"]["front"]]
    assert again["h1"]["services"][0]["tasks"] == moved["tasks"]


def test_errors_name_the_variable_the_user_wrote_ingress_apart():
    ingress = {"name": "ingress", "subnet": "10.255.0.0/16"}
    with pytest.raises(PlanError) as exc:
        plan.build([{"name": "frontend", "subnet": "10.255.1.0/24"}], hosts(), source="h1",
                   ingress_network=ingress)
    assert exc.value.errors == ["host h1: swarmnet_networks[0].subnet='10.255.1.0/24': "
                                "overlaps subnet 10.255.0.0/16 of network 'ingress'"]
    with pytest.raises(PlanError) as exc:
        plan.build([], hosts(), source="h1", ingress_network=dict(ingress, vni=0))
    assert exc.value.errors == ["host h1: swarmnet_ingress.vni=0: VNI must be an integer from 1 to 16777215"]
    result = plan.build([], hosts(h1=[{"name": "a", "networks": ["ingress"]}]), ingress_network=ingress)
    assert result["hosts"]["h1"]["networks"][0]["vni"] == 4096


def test_an_ingress_network_that_is_no_mapping_is_refused_by_name():
    with pytest.raises(PlanError) as exc:
        plan.build([], hosts(), source="h1", ingress_network="10.255.0.0/16")
    assert exc.value.errors == ["host h1: swarmnet_ingress='10.255.0.0/16': must be a mapping"]


GOSSIP_KEY = "ab" * 32


def test_the_live_layer_needs_a_well_formed_gossip_key_and_errors_never_show_it():
    plan.build(NETS, cluster(), gossip_key=GOSSIP_KEY, gossip_key_required=True)
    plan.build(NETS, cluster())                                     # the validating pass: none made yet
    with pytest.raises(plan.PlanError) as missing:
        plan.build(NETS, cluster(), gossip_key_required=True)
    assert missing.value.errors == [
        "host h1: swarmnet_gossip_key=None: the live layer needs the cluster's gossip key (the plan role makes "
        "one in swarmnet_gossip_key_file)"]
    with pytest.raises(plan.PlanError) as bad:
        plan.build(NETS, cluster(), gossip_key=GOSSIP_KEY[:-2] + "zz", gossip_key_required=True)
    assert bad.value.errors == ["host h1: swarmnet_gossip_key=(hidden): must be 64 hex digits (a 32-byte key); "
                                "got 64 characters"]
    assert GOSSIP_KEY[:-2] not in str(bad.value)
