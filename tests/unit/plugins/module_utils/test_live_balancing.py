"""The pure parts of balancing through the live layer: what was held back, what left."""

from ansible_collections.swarmnet.overlay.plugins.module_utils.live import availability, live_balancing

PLANNED = [{"fwmark": 256, "vip": "10.10.1.8", "backends": [
    {"address": "10.10.1.5", "task": "web.1", "host": "h1"},
    {"address": "10.10.1.6", "task": "web.2", "host": "h2"}]}]
H2_DOWN = {"hosts": {"h1": "alive", "h2": "failed"}, "tasks": {"h1": {"web.1": "healthy"}, "h2": {"web.2": "healthy"}}}


def test_held_back_names_each_backend_its_task_and_host():
    applied = availability.mask_backends(PLANNED, H2_DOWN)
    assert live_balancing.held_back(PLANNED, applied) == ["fwmark 0x100 10.10.1.8 -> 10.10.1.6 (web.2 on h2)"]
    assert live_balancing.held_back(PLANNED, PLANNED) == []
    assert live_balancing.held_back(None, None) == []


def test_only_a_backend_that_left_asks_for_a_walk_of_the_connection_table():
    applied = availability.mask_backends(PLANNED, H2_DOWN)
    assert live_balancing.removed(PLANNED, applied)
    assert not live_balancing.removed(applied, PLANNED)          # one came back: nothing to flush
    assert not live_balancing.removed(None, PLANNED)


def test_records_read_back_what_was_written(tmp_path):
    path = tmp_path / "live" / "lb" / "web.1.json"
    path.parent.mkdir(parents=True)
    path.write_text(live_balancing.record_text("auto", "swarmnet_lb", PLANNED, PLANNED[:0]))
    assert live_balancing.records(str(tmp_path)) == {
        "web.1": {"backend": "auto", "table": "swarmnet_lb", "planned": PLANNED, "applied": []}}
    (path.parent / "broken.json").write_text("{")
    assert list(live_balancing.records(str(tmp_path))) == ["web.1"]
