"""Pools running low are named (network, used, free) while there is still room; exhaustion stays an error."""

import pytest

from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import plan, pools
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan.plan import PlanError


def sandboxes(count, networks):
    """`count` sandboxes on h1 joined to `networks`, and one more host with none."""
    return {"h1": {"advertise_addr": "198.18.0.11",
                   "sandboxes": [{"name": "s%d" % i, "networks": networks} for i in range(count)]},
            "h2": {"advertise_addr": "198.18.0.12", "sandboxes": []}}


@pytest.mark.parametrize("free, usable, warned", [
    (8, 14, False), (7, 14, True),            # a small pool: fewer than 8 free
    (26, 254, False), (25, 254, True),        # a /24: fewer than 10 % (25.4) free
    (6600, 65534, False), (6553, 65534, True),
])
def test_low_is_fewer_than_8_or_fewer_than_a_tenth(free, usable, warned):
    assert pools.low(free, usable) is warned


def test_a_network_with_room_gives_no_warning():
    result = plan.build([{"name": "apps", "subnet": "10.20.0.0/24"}], sandboxes(3, ["apps"]))
    assert result["warnings"] == []


def test_a_network_nearly_full_is_named_with_used_and_free():
    # /28: 14 usable; the gateway and 6 sandboxes use 7, 7 are free (fewer than 8).
    result = plan.build([{"name": "apps", "subnet": "10.20.0.0/28"}], sandboxes(6, ["apps"]))
    assert result["warnings"] == [
        "network 'apps' (10.20.0.0/28): 7 of 14 addresses used, 7 free; the next tasks or sandboxes will be "
        "refused when none is left (widen the subnet)"]
    assert plan.build([{"name": "apps", "subnet": "10.20.0.0/28"}], sandboxes(5, ["apps"]))["warnings"] == []


def test_vips_count_as_used():
    # 5 sandboxes, the gateway and web's VIP: 7 of 14.
    result = plan.build([{"name": "apps", "subnet": "10.20.0.0/28"}], sandboxes(5, ["apps"]), services=[
        {"name": "web", "networks": ["apps"], "replicas": 0, "command": ["httpd"]}])
    assert result["warnings"][0].startswith("network 'apps' (10.20.0.0/28): 7 of 14 addresses used")


def test_the_last_address_is_still_an_error():
    with pytest.raises(PlanError) as exc:
        plan.build([{"name": "apps", "subnet": "10.20.0.0/29"}], sandboxes(6, ["apps"]))
    assert exc.value.errors == ["host h1: swarmnet_sandboxes[5].networks[0].ip=None: "
                                "network 'apps' (10.20.0.0/29) has no free address left"]


def test_the_gateway_bridge_is_counted_per_host():
    hosts_ = {"h1": {"advertise_addr": "198.18.0.11",
                     "sandboxes": [{"name": "s%d" % i, "networks": [], "egress": True} for i in range(7)]},
              "h2": {"advertise_addr": "198.18.0.12", "sandboxes": [{"name": "x", "networks": [], "egress": True}]}}
    result = plan.build([], hosts_, gwbridge_subnet="172.30.0.0/28")
    assert result["warnings"] == [
        "the gateway bridge on h1, swarmnet_gwbridge_subnet (172.30.0.0/28): 9 of 14 addresses used, 5 free; "
        "the next tasks or sandboxes will be refused when none is left (widen the subnet)"]
