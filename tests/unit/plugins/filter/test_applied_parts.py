"""applied_parts: after a handover, what the run applied already and the new plan left alone is not applied again."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.swarmnet.overlay.plugins.filter.applied import applied_parts

OLD = {"name": "solo.1", "sandbox": "solo.1", "command": ["serve", "80"]}
NEW = {"name": "solo.1.b", "sandbox": "solo.1.b", "command": ["serve", "80", "rolled"]}
NET = {"name": "backend", "vni": 4098, "mtu": 1450}


def plan(**parts):
    base = {"advertise_addr": "198.19.0.11", "networks": [NET], "tasks": [OLD, NEW], "gwbridge": None,
            "encryption": {"networks": [], "peers": ["198.19.0.12"]}, "peers": {"backend": [{"ip": "10.10.2.6"}]}}
    return dict(base, **parts)


def test_a_list_with_items_taken_away_needs_no_run_again():
    assert "tasks" in applied_parts(plan(tasks=[NEW]), plan())
    assert "tasks" in applied_parts(plan(tasks=[]), plan())


def test_a_list_with_an_item_the_earlier_plan_did_not_have_does_need_one():
    moved = dict(NET, mtu=1400)
    assert "networks" not in applied_parts(plan(networks=[moved]), plan())
    assert "tasks" not in applied_parts(plan(tasks=[NEW, dict(NEW, name="solo.1.c")]), plan())


def test_other_parts_count_only_when_equal():
    assert applied_parts(plan(), plan()) == ["advertise_addr", "encryption", "gwbridge", "networks", "peers", "tasks"]
    # a mapping of lists is compared whole: one peer fewer is a change the peers step must make
    assert "peers" not in applied_parts(plan(peers={"backend": []}), plan())
    assert "gwbridge" not in applied_parts(plan(gwbridge={"name": "swarmnet_gwbridge"}), plan())


def test_a_part_the_earlier_plan_did_not_have_is_not_applied():
    assert "mesh" not in applied_parts(plan(mesh={"ingress": []}), plan())


def test_anything_but_two_plans_is_refused():
    with pytest.raises(AnsibleFilterError, match="expects two plans of one host"):
        applied_parts(plan(), None)
