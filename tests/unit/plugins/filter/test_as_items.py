"""as_items: what leaves a host goes to one module run as list items; per_sandbox: the plan's shared balancing;
with_tasks: tasks kept on their spec; kept_previous: which tasks a stopped rollout keeps."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.swarmnet.overlay.plugins.filter.items import as_items, kept_previous, per_sandbox, with_tasks


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


def _batch(service, action, previous):
    return {"service": service, "failure_action": action, "previous": previous}


def test_a_rollback_keeps_every_batch_of_its_service_a_pause_those_not_reached():
    old = {n: {"name": n, "command": ["old"]} for n in ("web.1", "web.2", "web.3", "api.1")}
    rollout = [_batch("web", "rollback", {"h1": [old["web.1"]]}), _batch("api", "pause", {"h1": [old["api.1"]]}),
               _batch("web", "rollback", {"h2": [old["web.2"]]}), _batch("web", "rollback", {"h1": [old["web.3"]]})]
    # web's second batch (index 2) fails: every web batch stays, api's is another service
    assert kept_previous(rollout, 2, "h1") == [old["web.1"], old["web.3"]]
    assert kept_previous(rollout, 2, "h2") == [old["web.2"]]
    assert kept_previous(rollout, 2, "h3") == []
    paused = [dict(b, failure_action="pause") for b in rollout]
    assert kept_previous(paused, 2, "h1") == [old["web.3"]]       # web.1 rolled and stays on the new spec
    assert kept_previous(paused, 2, "h2") == []                   # the failed batch's own task is not kept
    kept = kept_previous(rollout, 0, "h1")
    kept[0]["command"] = ["changed"]
    assert rollout[0]["previous"]["h1"][0]["command"] == ["old"]  # copies: the plan is not touched


def test_kept_previous_refuses_what_is_not_a_rollout_or_an_index_in_it():
    with pytest.raises(AnsibleFilterError, match="expects the plan's rollout"):
        kept_previous([{"service": "web"}], 0, "h1")
    with pytest.raises(AnsibleFilterError, match=r"index of a batch of the rollout \(0-0\), got 1"):
        kept_previous([_batch("web", "pause", {})], 1, "h1")
