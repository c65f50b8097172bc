"""as_items: what leaves a host goes to one module run as list items; per_sandbox: the plan's shared balancing;
with_tasks: tasks kept on their spec."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.swarmnet.overlay.plugins.filter.items import as_items, per_sandbox, with_tasks


def test_names_become_one_key_mappings_in_order():
    assert as_items(["web.3", "web.2"], "name") == [{"name": "web.3"}, {"name": "web.2"}]
    assert as_items([], "sandbox") == []


def test_anything_but_a_list_is_refused():
    with pytest.raises(AnsibleFilterError, match="expects a list of names"):
        as_items("web.3", "name")


def test_shared_balancing_is_written_out_per_sandbox_in_order():
    web = [{"fwmark": 256, "vip": "10.10.1.2", "backends": []}]
    groups = [{"sandboxes": ["web.1", "web.2"], "services": web}, {"sandboxes": ["db.1"], "services": []}]
    assert per_sandbox(groups) == [{"sandbox": "web.1", "services": web}, {"sandbox": "web.2", "services": web},
                                   {"sandbox": "db.1", "services": []}]


def test_balancing_per_sandbox_is_refused_as_input():
    with pytest.raises(AnsibleFilterError, match=r"expects the plan's balancing"):
        per_sandbox([{"sandbox": "web.1", "services": []}])


def test_kept_tasks_take_the_place_of_the_planned_ones_in_the_plans_order():
    plan = {"sandboxes": [], "tasks": [{"name": "web.1", "command": ["new"]}, {"name": "api.1", "command": ["a"]},
                                       {"name": "web.2", "command": ["new"]}]}
    kept = [{"name": "web.2", "command": ["old"]}, {"name": "web.9", "command": ["old"]}]
    assert with_tasks(plan, kept) == {"sandboxes": [], "tasks": [
        {"name": "web.1", "command": ["new"]}, {"name": "api.1", "command": ["a"]}, {"name": "web.2", "command": ["old"]}]}
    assert with_tasks(plan, []) == plan
    with pytest.raises(AnsibleFilterError, match="each with its name"):
        with_tasks(plan, [{"command": ["old"]}])
