"""Which tasks get traffic: the one rule the balancing, the resolver and the live agent share."""

import json
import os
import time

from ansible_collections.swarmnet.overlay.plugins.module_utils.live import availability, health, hold

WEB = [("h1", "web.1"), ("h2", "web.2"), ("h3", "web.3")]


def facts(hosts=None, tasks=None):
    return {"hosts": hosts or {"h1": "alive", "h2": "alive", "h3": "alive"},
            "tasks": tasks or {"h1": {"web.1": "healthy"}, "h2": {"web.2": "healthy"}, "h3": {"web.3": "healthy"}}}


def test_without_facts_every_task_gets_traffic():
    assert availability.allowed(WEB, None) == set(WEB)


def test_healthy_tasks_on_live_hosts_get_traffic():
    assert availability.allowed(WEB, facts()) == set(WEB)
    sick = facts(tasks={"h1": {"web.1": "healthy"}, "h2": {"web.2": "unhealthy"}, "h3": {"web.3": "starting"}})
    assert availability.allowed(WEB, sick) == {("h1", "web.1")}


def test_a_failed_left_or_unknown_host_takes_its_tasks_out_however_healthy_it_said_they_were():
    for status in ("failed", "left", "leaving", "unknown"):
        assert availability.allowed(WEB, facts(hosts={"h1": "alive", "h2": status, "h3": "alive"})) \
            == {("h1", "web.1"), ("h3", "web.3")}
    assert availability.allowed(WEB, facts(hosts={"h1": "alive", "h2": "alive"})) \
        == {("h1", "web.1"), ("h2", "web.2")}


def test_a_task_the_facts_do_not_know_yet_is_held_back():
    assert availability.allowed(WEB + [("h1", "web.4")], facts()) == set(WEB)


def test_when_no_task_is_healthy_every_task_on_a_live_host_gets_traffic():
    none_healthy = facts(hosts={"h1": "alive", "h2": "alive", "h3": "failed"},
                         tasks={"h1": {"web.1": "unhealthy"}, "h2": {"web.2": "starting"}})
    assert availability.allowed(WEB, none_healthy) == {("h1", "web.1"), ("h2", "web.2")}


def test_failing_open_never_sends_traffic_to_a_task_held_or_stopped_here_or_out_on_another_host():
    # A start-first handover held, then stopped, the old task web.1; the new one, web.3, fails
    # its probe on a starved host: nothing that may answer is healthy.
    handover = facts(tasks={"h1": {"web.1": availability.HELD}, "h2": {"web.2": availability.OUT},
                            "h3": {"web.3": "unhealthy"}})
    assert availability.allowed(WEB, handover) == {("h3", "web.3")}
    stopped = facts(tasks={"h1": {"web.1": availability.STOPPED}, "h2": {"web.2": availability.OUT},
                           "h3": {"web.3": availability.HELD}})
    assert availability.allowed(WEB, stopped) == set()
    masked = availability.mask_backends([{"fwmark": 256, "backends": [
        {"address": "10.10.1.%d" % n, "host": host, "task": name} for n, (host, name) in enumerate(WEB)]}], stopped)
    assert [b["weight"] for b in masked[0]["backends"]] == [0, 0, 0]    # quiesced: the VIP refuses new ones


def test_the_states_named_here_are_those_of_the_health_checks_and_holds():
    assert (availability.HEALTHY, availability.UNHEALTHY, availability.STOPPED) \
        == (health.HEALTHY, health.UNHEALTHY, health.STOPPED)
    assert availability.HELD == hold.HELD


def test_a_service_with_no_task_on_a_live_host_has_none():
    assert availability.allowed(WEB, facts(hosts={"h1": "failed", "h2": "left", "h3": "unknown"})) == set()
    assert availability.allowed([], facts()) == set()


def test_backends_that_name_no_task_are_never_held_back():
    planned = [{"fwmark": 256, "vip": "10.10.1.8", "backends": [
        {"address": "10.10.1.5", "task": "web.1", "host": "h1"},
        {"address": "10.10.1.6", "task": "web.2", "host": "h2"},
        {"address": "10.10.1.99"}]}]
    masked = availability.mask_backends(planned, facts(hosts={"h1": "alive", "h2": "failed", "h3": "alive"}))
    assert [b["address"] for b in masked[0]["backends"]] == ["10.10.1.5", "10.10.1.99"]
    assert planned[0]["backends"][1]["address"] == "10.10.1.6"        # the plan itself is left as it was
    assert availability.mask_backends(planned, None) == planned


def test_a_task_held_back_on_a_live_host_is_quiesced_and_one_on_a_host_gone_removed():
    planned = [{"fwmark": 256, "vip": "10.10.1.8", "backends": [
        {"address": "10.10.1.5", "task": "web.1", "host": "h1", "weight": 1},
        {"address": "10.10.1.6", "task": "web.2", "host": "h2", "weight": 1},
        {"address": "10.10.1.7", "task": "web.3", "host": "h3", "weight": 1}]}]
    sick = facts(hosts={"h1": "alive", "h2": "alive", "h3": "failed"},
                 tasks={"h1": {"web.1": "healthy"}, "h2": {"web.2": "unhealthy"}, "h3": {"web.3": "healthy"}})
    masked = availability.mask_backends(planned, sick)
    assert [(b["task"], b["weight"]) for b in masked[0]["backends"]] == [("web.1", 1), ("web.2", 0)]
    assert planned[0]["backends"][1]["weight"] == 1


def test_a_task_on_a_host_that_leaves_is_quiesced_so_that_its_requests_in_flight_finish():
    planned = [{"fwmark": 256, "vip": "10.10.1.8", "backends": [
        {"address": "10.10.1.5", "task": "web.1", "host": "h1", "weight": 1},
        {"address": "10.10.1.6", "task": "web.2", "host": "h2", "weight": 1},
        {"address": "10.10.1.7", "task": "web.3", "host": "h3", "weight": 1}]}]
    healthy = {"h1": {"web.1": "healthy"}, "h2": {"web.2": "healthy"}, "h3": {"web.3": "healthy"}}
    for status in ("leaving", "left"):
        going = facts(hosts={"h1": "alive", "h2": status, "h3": "unknown"}, tasks=healthy)
        assert [(b["task"], b["weight"]) for b in availability.mask_backends(planned, going)[0]["backends"]] \
            == [("web.1", 1), ("web.2", 0)]
    # Every task's host on its way out or gone: nothing takes a new connection.
    gone = facts(hosts={"h1": "failed", "h2": "left", "h3": "left"}, tasks=healthy)
    assert [(b["task"], b["weight"]) for b in availability.mask_backends(planned, gone)[0]["backends"]] \
        == [("web.2", 0), ("web.3", 0)]


def test_serving_is_every_service_s_allowed_tasks():
    registry = [{"name": "web", "tasks": [{"host": h, "name": n} for h, n in WEB]},
                {"name": "api", "tasks": [{"host": "h2", "name": "api.1"}]}]
    half = facts(hosts={"h1": "alive", "h2": "failed", "h3": "alive"})
    assert availability.serving(registry, half) == {("h1", "web.1"), ("h3", "web.3")}
    assert availability.serving(registry, None) is None


def test_facts_are_trusted_only_fresh_and_from_this_boot(tmp_path):
    state_dir = str(tmp_path)
    assert availability.read(state_dir) is None
    availability.write(state_dir, facts())
    assert availability.read(state_dir)["hosts"]["h2"] == "alive"
    path = availability.facts_path(state_dir)
    old = time.time() - availability.STALE_AFTER - 1
    os.utime(path, (old, old))
    assert availability.read(state_dir) is None                      # the agent stopped refreshing them
    with open(path, "w") as f:
        json.dump(dict(facts(), boot="another boot"), f)
    assert availability.read(state_dir) is None                      # from before a reboot
    with open(path, "w") as f:
        f.write("{not json")
    assert availability.read(state_dir) is None
