"""The pure parts of balancing through the live layer: what was held back, what left."""

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.swarmnet.overlay.plugins.module_utils.live import availability, lb_records, live_balancing
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import lb
from ansible_collections.swarmnet.overlay.plugins.module_utils.steps import balancing

PLANNED = [{"fwmark": 256, "vip": "10.10.1.8", "backends": [
    {"address": "10.10.1.5", "task": "web.1", "host": "h1"},
    {"address": "10.10.1.6", "task": "web.2", "host": "h2"}]}]
H2_DOWN = {"hosts": {"h1": "alive", "h2": "failed"}, "tasks": {"h1": {"web.1": "healthy"}, "h2": {"web.2": "healthy"}}}


def test_held_back_names_each_backend_its_task_and_host():
    applied = availability.mask_backends(PLANNED, H2_DOWN)
    assert live_balancing.held_back(PLANNED, applied) == ["fwmark 0x100 10.10.1.8 -> 10.10.1.6 (web.2 on h2)"]
    assert live_balancing.held_back(PLANNED, PLANNED) == []
    assert live_balancing.held_back(None, None) == []
    h2_sick = {"hosts": {"h1": "alive", "h2": "alive"}, "tasks": {"h1": {"web.1": "healthy"}, "h2": {"web.2": "starting"}}}
    assert live_balancing.held_back(PLANNED, availability.mask_backends(PLANNED, h2_sick)) \
        == ["fwmark 0x100 10.10.1.8 -> 10.10.1.6 (web.2 on h2)"]           # quiesced counts too


def test_only_a_backend_that_left_or_was_held_back_asks_for_a_walk_of_the_connection_table():
    applied = availability.mask_backends(PLANNED, H2_DOWN)
    assert live_balancing.to_flush(PLANNED, applied)
    assert not live_balancing.to_flush(applied, PLANNED)          # one came back: nothing to flush
    assert not live_balancing.to_flush(None, PLANNED)
    h2_sick = {"hosts": {"h1": "alive", "h2": "alive"}, "tasks": {"h1": {"web.1": "healthy"}, "h2": {"web.2": "unhealthy"}}}
    quiesced = availability.mask_backends(PLANNED, h2_sick)
    assert live_balancing.to_flush(PLANNED, quiesced)             # what it never answered goes
    assert not live_balancing.to_flush(quiesced, quiesced)
    assert live_balancing.to_flush(quiesced, applied)             # removed after it was held back


def test_records_read_back_what_was_written(tmp_path):
    path = tmp_path / "live" / "lb" / "web.1.json"
    path.parent.mkdir(parents=True)
    path.write_text(lb_records.record_text("auto", "swarmnet_lb", PLANNED, PLANNED[:0]))
    assert lb_records.records(str(tmp_path)) == {
        "web.1": {"backend": "auto", "table": "swarmnet_lb", "planned": PLANNED, "applied": []}}
    (path.parent / "broken.json").write_text("{")
    assert list(lb_records.records(str(tmp_path))) == ["web.1"]


def test_a_record_reads_the_same_whether_the_restore_or_the_module_wrote_it():
    """The restore passes the plan's entries as they are, the module its arguments with Ansible's
    defaults filled in: both records must be the same text, or the first converge after a reboot
    rewrites every record and reports a change."""
    plan_entries = PLANNED + [{"fwmark": 257, "vip": "172.18.0.2", "protocol": "tcp", "port": 8080,
                               "target_port": 80, "masquerade": True, "backends": [{"address": "10.255.0.5"}]}]
    as_module_gets_them = ArgumentSpecValidator(balancing.SERVICES_SPEC).validate(
        {"services": plan_entries}).validated_parameters["services"]
    assert lb.with_defaults(plan_entries) == as_module_gets_them
    assert lb.with_defaults(as_module_gets_them) == as_module_gets_them
    assert lb_records.record_text("auto", "t", lb.with_defaults(plan_entries), []) == \
        lb_records.record_text("auto", "t", as_module_gets_them, [])


def test_the_sandboxes_that_stop_sending_to_a_backend_are_switched_first():
    api = [{"fwmark": 257, "vip": "10.10.1.9", "backends": [
        {"address": "10.10.1.7", "task": "api.1", "host": "h1"},
        {"address": "10.10.1.8", "task": "api.2", "host": "h3"}]}]
    records = {
        "a-widens": lb_records.record("nftables", "t", PLANNED, availability.mask_backends(PLANNED, H2_DOWN)),
        "b-narrows": lb_records.record("nftables", "t", api, api),
        "c-same": lb_records.record("nftables", "t", PLANNED, PLANNED),
        "d-gone": lb_records.record("nftables", "t", None, None),
    }
    h3_lost = {"hosts": {"h1": "alive", "h2": "alive", "h3": "failed"},
               "tasks": {"h1": {"web.1": "healthy", "api.1": "healthy"}, "h2": {"web.2": "healthy"}}}
    assert [d[0] for d in live_balancing.due(records, h3_lost)] == ["b-narrows", "a-widens"]
    assert live_balancing.due(records, h3_lost)[0] == ("b-narrows", records["b-narrows"],
                                                       availability.mask_backends(api, h3_lost))
    h1_sick = dict(h3_lost, tasks={"h1": {"web.1": "unhealthy", "api.1": "healthy"}, "h2": {"web.2": "healthy"}})
    assert [d[0] for d in live_balancing.due(records, h1_sick)] == ["a-widens", "b-narrows", "c-same"]   # all narrow
    # Switched earlier in this pass: after the others that narrow, before those that widen.
    assert [d[0] for d in live_balancing.due(records, h1_sick, switched={"a-widens"})] \
        == ["b-narrows", "c-same", "a-widens"]
    assert [d[0] for d in live_balancing.due(records, h3_lost, switched={"b-narrows"})] == ["b-narrows", "a-widens"]
