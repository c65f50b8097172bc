"""The restore entry point's work against the real kernel: a kept plan made again from nothing.

Run through tests/integration/run.sh (a throwaway host); the Molecule scenarios test the same on
the lab (objects deleted) and on VMs (a real reboot).
"""

import json
import os
import socket
import time

import pytest

from ansible_collections.swarmnet.overlay.plugins.module_utils.host import restore, restore_boot
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import balancer, links, netns, nftables, peers
from ansible_collections.swarmnet.overlay.plugins.module_utils.live import lb_records
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import naming
from ansible_collections.swarmnet.overlay.plugins.module_utils.reconcile import Changes

LOCAL = "198.18.9.1"

if os.environ.get("SWARMNET_ISOLATED") != "1":
    pytest.skip("run through tests/integration/run.sh (isolated namespaces)", allow_module_level=True)

NETWORK = {"name": "front", "netns": "swarmnet-front", "ingress": False, "vni": 4098,
           "subnet": "10.10.1.0/24", "gateway": "10.10.1.1/24", "data_port": 4789, "mtu": 1450,
           "local": LOCAL}
ENDPOINT = {"network": "front", "netns": "swarmnet-front", "ifname": "eth0", "address": "10.10.1.2/24",
            "mac": "02:42:0a:0a:01:02", "mtu": 1450}
REMOTE = [{"ip": "10.10.1.3", "mac": "02:42:0a:0a:01:03", "vtep": "198.18.9.2"}]
SERVICE = {"fwmark": 256, "vip": "10.10.1.100", "protocol": "tcp", "port": None, "target_port": None,
           "scheduler": "rr", "masquerade": False,
           "backends": [{"address": "10.10.1.2", "weight": 1}, {"address": "10.10.1.3", "weight": 1}]}


def kept(advertise=LOCAL, lb_backend="nftables"):
    desired = {"advertise_addr": advertise, "networks": [NETWORK],
               "sandboxes": [{"name": "sb1", "endpoints": [ENDPOINT]}],
               "peers": {"front": REMOTE}, "lb": [{"sandboxes": ["sb1"], "services": [SERVICE]}], "tasks": [],
               "firewall": {"peers": ["198.18.9.2"], "tcp_ports": [7946], "udp_ports": [4789, 7946]},
               "gwbridge": None, "mesh": {"ingress": [], "host": [], "egress_subnet": None}}
    return json.loads(restore.saved_text(desired, "t", "present", lb_backend, "swarmnet", "/usr/bin/python3"))


@pytest.fixture(autouse=True)
def host():
    with netns.rtnl() as ipr:
        lo = ipr.link_lookup(ifname="lo")[0]
        ipr.link("set", index=lo, state="up")
        if LOCAL not in links.host_addresses(ipr):
            ipr.addr("add", index=lo, address=LOCAL, prefixlen=32)
    yield
    for name in netns.names():
        netns.remove(name)
    if nftables.exists("inet", "t"):
        nftables.delete("inet", "t")
    _wait_vxlan_port_free()


def _wait_vxlan_port_free(timeout=5.0):
    """A removed namespace's VXLAN socket goes asynchronously: until it has, the next test's
    device on the same port fails with EEXIST."""
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("0.0.0.0", NETWORK["data_port"]))
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
        time.sleep(0.05)


def restored(tmp_path, saved=None):
    changes = Changes(check_mode=False)
    restore_boot.apply(saved or kept(), str(tmp_path), changes, address_wait=1)
    return changes.done


def test_makes_everything_from_nothing_then_finds_nothing_to_do(tmp_path):
    done = restored(tmp_path)
    assert "create namespace swarmnet-front" in done and "program 1 peers of network front" in done
    assert "replace nftables table ip swarmnet_lb in sb1" in done
    assert nftables.exists("inet", "t")
    with netns.rtnl("swarmnet-front") as ipr:
        vx = links.by_name(ipr, naming.vxlan_name(4098))
        assert vx["vxlan"]["vni"] == 4098 and vx["vxlan"]["local"] == LOCAL
        assert peers.read(ipr, vx["index"]) == ({"10.10.1.3": "02:42:0a:0a:01:03"},
                                                {"02:42:0a:0a:01:03": "198.18.9.2"})
    with netns.rtnl("sb1") as ipr:
        eth0 = links.by_name(ipr, "eth0")
        assert links.ipv4_addresses(ipr, eth0["index"]) == [("10.10.1.2", 24)] and eth0["mtu"] == 1450
    with netns.inside("sb1"):
        assert "10.10.1.100" in nftables.text("ip", "swarmnet_lb")
    assert restored(tmp_path) == []


def test_a_backend_left_to_auto_is_recorded_as_the_one_that_balances(tmp_path):
    """As ipvs_service records it: the converge after a boot finds the record as it would write it."""
    restored(tmp_path, kept(lb_backend="auto"))
    assert lb_records.read_record(str(tmp_path), "sb1")["backend"] == balancer.resolved("auto") != "auto"


def _link_names(name):
    with netns.rtnl(name) as ipr:
        return {link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}


def _wait_links_gone(name, gone, timeout=5.0):
    """The links a removed namespace's veths had in `name` go when the kernel has torn that
    namespace down, which it does asynchronously: until then a restore finds them orphaned."""
    deadline = time.monotonic() + timeout
    while _link_names(name) & gone:
        assert time.monotonic() < deadline, "still there: %s" % (_link_names(name) & gone)
        time.sleep(0.05)


def test_makes_again_what_was_lost_and_only_that(tmp_path):
    restored(tmp_path)
    sb1_veth = {n for n in _link_names("swarmnet-front") if n.startswith("swv-")}     # the only sandbox
    netns.remove("sb1")
    _wait_links_gone("swarmnet-front", sb1_veth)
    done = restored(tmp_path)
    assert "create sandbox namespace sb1" in done
    assert not [line for line in done if "swarmnet-front" in line or "inet t" in line], done


def test_an_address_that_never_comes_up_is_a_clear_error(tmp_path):
    with pytest.raises(restore.RestoreError, match="advertise address 198.18.9.77 did not appear"):
        restored(tmp_path, kept(advertise="198.18.9.77"))
    assert netns.names() == []
