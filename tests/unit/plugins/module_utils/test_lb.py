"""The load balancer's pure model: validation and weighted numgen slots."""

import pytest

from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import lb_nftables
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import lb


def svc(**extra):
    return dict({"fwmark": 257, "vip": "10.0.1.100", "backends": [{"address": "10.0.1.2"}]}, **extra)


@pytest.mark.parametrize("services,backend,message", [
    ([svc(fwmark=0)], "nftables", "services[0].fwmark=0: must be an integer from 1 to 4294967295"),
    ([svc(), svc(vip="10.0.1.101")], "nftables", "services[1].fwmark=257: used by another service"),
    ([svc(vip="10.0.1.300")], "nftables", "services[0].vip='10.0.1.300': not an IPv4 address"),
    ([svc(target_port=80)], "nftables", "services[0].target_port=80: needs a port"),
    ([svc(port=70000)], "nftables", "services[0].port=70000: not a port (1-65535)"),
    ([svc(scheduler="wlc")], "nftables", "services[0].scheduler='wlc': the nftables backend supports rr, random"),
    ([svc(backends=[{"address": "10.0.1.2"}, {"address": "10.0.1.2"}])], "ipvs",
     "services[0].backends: an address is listed twice"),
    ([svc(backends=[{"address": "10.0.1.2", "weight": -1}])], "ipvs",
     "services[0].backends[0].weight=-1: must be an integer from 0 to 65535"),
    ([svc(), svc(fwmark=258)], "ipvs", "services[1].vip='10.0.1.100': the same VIP and port are marked"),
])
def test_bad_services_name_key_and_value(services, backend, message):
    with pytest.raises(lb.LbError) as exc:
        lb.normalise(services, backend)
    assert str(exc.value).startswith(message)


def test_ipvs_takes_its_own_schedulers():
    assert lb.normalise([svc(scheduler="wlc")], "ipvs")[0]["scheduler"] == "wlc"


def test_weights_become_consecutive_slots_and_zero_takes_none():
    norm = lb.normalise([svc(backends=[{"address": "10.0.1.4", "weight": 1}, {"address": "10.0.1.2", "weight": 3},
                                       {"address": "10.0.1.3", "weight": 0}])], "nftables")[0]
    assert lb_nftables._weighted_map(norm) == (4, [("0-2", "10.0.1.2"), ("3", "10.0.1.4")])


def test_target_port_is_part_of_the_dnat_target():
    norm = lb.normalise([svc(port=80, target_port=8000)], "nftables")
    text = lb_nftables.render("t", norm)
    assert "meta l4proto tcp dnat to numgen inc mod 1 map { 0 : 10.0.1.2 . 8000 }" in text
    assert "10.0.1.100 . tcp . 80 : 0x101" in text


def test_marking_only_when_ipvs_balances():
    text = lb_nftables.render("t", lb.normalise([svc()], "ipvs"), balance=False)
    assert "numgen" not in text and "vmap" not in text and "10.0.1.100 : 0x101" in text


def test_a_service_with_no_backend_to_send_to_refuses_at_once():
    norm = lb.normalise([svc(), svc(fwmark=0x102, vip="10.0.1.101", backends=[]),
                         svc(fwmark=0x103, vip="10.0.1.102", backends=[{"address": "10.0.1.9", "weight": 0}])],
                        "nftables")
    text = lb_nftables.render("t", norm)
    assert "    ct state new meta mark { 0x102, 0x103 } reject" in text
    assert "type filter hook output priority filter" in text
    assert "reject" not in lb_nftables.render("t", lb.normalise([svc()], "nftables"))


def test_where_ipvs_balances_it_refuses_by_itself_and_the_marking_table_never_does():
    """The live agent switches IPVS weights without the marking table: a reject there would outlive the
    moment the service had no backend (a VM's reboot check found one, a converge after)."""
    norm = lb.normalise([svc(fwmark=0x103, vip="10.0.1.102", backends=[{"address": "10.0.1.9", "weight": 0}])], "ipvs")
    assert "reject" not in lb_nftables.render("t", norm, balance=False)


def test_owned_marks_come_from_the_tables_maps():
    listed = [{"map": {"name": "vip_marks", "map": "mark", "elem": [["10.0.1.100", 257]]}},
              {"map": {"name": "vip_port_marks", "map": "mark",
                       "elem": [[{"concat": ["10.0.1.101", "tcp", 80]}, 258]]}},
              {"chain": {"name": "svc_101"}}]
    assert lb_nftables.owned_marks(listed) == {257, 258}
    assert lb_nftables.owned_marks(None) == set()


class RecordingIPVS:
    """Stands in for the IPVS socket (this kernel has none): records the requests made."""

    def __init__(self):
        self.calls = []

    def service(self, command, service):
        self.calls.append(("service", command, service["fwmark"], service["sched_name"]))

    def dest(self, command, service, dest):
        self.calls.append(("dest", command, service["fwmark"], dest["addr"], dest.get("weight"),
                           dest.get("fwd_method")))


def test_ipvs_reconcile_adds_changes_and_removes_with_nat():
    from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import lb_ipvs
    from ansible_collections.swarmnet.overlay.plugins.module_utils.reconcile import Changes
    have = {257: {"scheduler": "wlc", "backends": {"10.0.1.2": 1, "10.0.1.9": 1}},
            300: {"scheduler": "rr", "backends": {}}}
    want = lb.normalise([svc(backends=[{"address": "10.0.1.2", "weight": 3}, {"address": "10.0.1.3"}]),
                         svc(fwmark=258, vip="10.0.1.101")], "ipvs")
    ipvs, changes = RecordingIPVS(), Changes(False)
    lb_ipvs.apply(ipvs, want, have, changes)
    assert ipvs.calls == [
        ("service", "del", 300, "rr"),
        ("service", "set", 257, "rr"),
        ("dest", "del", 257, "10.0.1.9", 1, 3),
        ("dest", "set", 257, "10.0.1.2", 3, lb_ipvs.FWD_MASQ),
        ("dest", "add", 257, "10.0.1.3", 1, lb_ipvs.FWD_MASQ),
        ("service", "add", 258, "rr"),
        ("dest", "add", 258, "10.0.1.2", 1, lb_ipvs.FWD_MASQ)]
    assert len(changes.done) == 7


def test_ipvs_fwmark_service_carries_the_attributes_the_kernel_requires():
    """ip_vs_genl_parse_service() answers EINVAL unless scheduler, flags, timeout and netmask are all given."""
    from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import lb_ipvs
    names = {name for name, _value in lb_ipvs._service(0x100).dump_nla()["attrs"]}
    assert {"IPVS_SVC_ATTR_FWMARK", "IPVS_SVC_ATTR_AF", "IPVS_SVC_ATTR_SCHED_NAME", "IPVS_SVC_ATTR_FLAGS",
            "IPVS_SVC_ATTR_TIMEOUT", "IPVS_SVC_ATTR_NETMASK"} <= names
