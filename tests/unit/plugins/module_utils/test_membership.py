"""Serf's configuration and the health tag every host publishes (no agent runs here)."""

import json

import pytest

from ansible_collections.swarmnet.overlay.plugins.module_utils.live import membership
from ansible_collections.swarmnet.overlay.plugins.module_utils.live.availability import HEALTHY, OUT, UNHEALTHY

KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"


def test_the_tag_carries_one_bit_per_task_in_the_order_every_host_knows():
    names = ["web.2", "api.1", "cache.1"]
    value = membership.encode(42, names, {"web.2", "cache.1"})
    assert membership.decode(value, list(reversed(names))) == (42, {"api.1": UNHEALTHY, "cache.1": HEALTHY, "web.2": HEALTHY})


def test_tasks_that_may_not_answer_take_a_second_bitfield_only_when_there_are_some():
    names = ["web.2", "api.1", "cache.1"]
    plain = membership.encode(42, names, {"web.2"})
    assert plain.count(".") == 2 and plain == membership.encode(42, names, {"web.2"}, out={"gone.9"})
    value = membership.encode(42, names, {"web.2"}, out={"cache.1"})
    assert value.count(".") == 3 and not membership.same_health(value, plain)
    assert membership.decode(value, names) == (42, {"api.1": UNHEALTHY, "cache.1": OUT, "web.2": HEALTHY})


def test_a_tag_of_another_task_list_is_not_decoded_but_its_sequence_is():
    value = membership.encode(7, ["web.1", "web.2"], {"web.1"})
    assert membership.decode(value, ["web.1", "web.2", "web.4"]) == (7, None)
    assert membership.decode(value, []) == (7, None)


@pytest.mark.parametrize("value", [None, "", "x", "1.2", "one.abc.AA", "1.abcdefgh.!!!", "1.abcdefgh.AA.!!"])
def test_a_missing_or_broken_tag_decodes_to_nothing(value):
    assert membership.decode(value, ["web.1"])[1] is None


def test_a_host_with_no_task_has_a_tag_too():
    assert membership.decode(membership.encode(1, [], set()), []) == (1, {})


def test_the_tag_fits_serfs_512_bytes_with_2800_tasks():
    names = ["svc%d.%d" % (i // 3, i % 3) for i in range(2800)]
    value = membership.encode(1795836474123, names, set(names[::2]))
    assert len(membership.HEALTH_TAG) + len(value) + 8 < 512       # msgpack: a few bytes of framing
    assert membership.decode(value, names)[1] == {n: HEALTHY if i % 2 == 0 else UNHEALTHY for i, n in enumerate(names)}


def test_the_tag_fits_serfs_512_bytes_with_1400_tasks_some_out():
    names = ["svc%d.%d" % (i // 3, i % 3) for i in range(1400)]
    value = membership.encode(1795836474123, names, set(names[::2]), out=set(names[1::4]))
    assert len(membership.HEALTH_TAG) + len(value) + 8 < 512
    assert list(membership.decode(value, names)[1].values()).count(OUT) == 350


@pytest.mark.parametrize("key, why", [
    (None, "NoneType"), ("abc", "3 characters"), (KEY[:-1] + "g", "64 characters"), (KEY + "00", "66 characters")])
def test_a_bad_key_is_refused_without_showing_it(key, why):
    message = membership.key_error(key)
    assert why in message and "64 hex digits" in message
    assert key is None or key not in message


def test_the_agent_configuration_binds_the_advertise_address_and_holds_the_key_as_serf_wants_it():
    config = json.loads(membership.config_text("h2", "198.18.0.12", 7946, KEY, "127.0.0.1:7373",
                                               "/opt/swarmnet/libexec/swarmnet-live-hint /x.sock"))
    assert (config["node_name"], config["bind"], config["advertise"]) == ("h2", "198.18.0.12:7946", "198.18.0.12:7946")
    assert len(__import__("base64").b64decode(config["encrypt_key"])) == 32
    assert KEY not in json.dumps(config)
    assert config["rpc_auth"] == membership.rpc_auth(KEY) and len(config["rpc_auth"]) == 32
    assert config["leave_on_terminate"] is True
    assert config["event_handlers"] == [
        "member-join,member-leave,member-failed,member-reap,user:swarmnet-health="
        "/opt/swarmnet/libexec/swarmnet-live-hint /x.sock"]


def test_a_member_is_its_host_only_at_the_host_s_planned_address():
    members = [{"name": "h1", "addr": "198.18.0.11", "status": "alive", "tags": {}},
               {"name": "h2", "addr": "198.18.0.99", "status": "alive", "tags": {}},
               {"name": "h3", "addr": "198.18.0.13", "status": "failed", "tags": {}}]
    planned = {"h1": "198.18.0.11", "h2": "198.18.0.12", "h3": "198.18.0.13", "h4": "198.18.0.14"}
    assert membership.statuses(members, planned) == {"h1": "alive", "h2": "unknown", "h3": "failed", "h4": "unknown"}


def test_two_tags_tell_the_same_whatever_their_sequence():
    assert membership.same_health(membership.encode(1, ["a", "b"], {"a"}), membership.encode(9, ["b", "a"], {"a"}))
    assert not membership.same_health(membership.encode(1, ["a", "b"], {"a"}), membership.encode(1, ["a", "b"], {"b"}))
