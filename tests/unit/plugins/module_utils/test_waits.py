"""What a rollout waits for on a host: drained, serving, stable (live/waits.py)."""

from ansible_collections.swarmnet.overlay.plugins.module_utils.live import availability, hold, waits

WEB = [{"vip": "10.0.0.2", "fwmark": 256, "backends": [
    {"address": "10.0.0.3", "host": "h1", "task": "web.1"}, {"address": "10.0.0.4", "host": "h2", "task": "web.2"}]}]


def _facts(web2_state, web1_state="healthy"):
    return {"node": "h1", "hosts": {"h1": "alive", "h2": "alive"},
            "tasks": {"h1": {"web.1": web1_state}, "h2": {"web.2": web2_state}}}


def _records(facts):
    """A sandbox whose kernel balancing is what `facts` say (as the agent leaves it)."""
    return {"client.1": {"planned": WEB, "applied": availability.mask_backends(WEB, facts)}}


def test_drained_once_the_facts_hold_the_task_and_the_kernel_follows():
    web2 = {("h2", "web.2")}
    serving = _facts("healthy")
    assert waits.not_drained(web2, serving, _records(serving)) == [("web.2 on h2", "healthy here")]
    held = _facts(hold.HELD)
    assert waits.not_drained(web2, held, _records(serving)) == [("client.1", "balancing not applied yet")]
    assert waits.not_drained(web2, held, _records(held)) == []


def test_drained_accepts_a_service_whose_every_task_is_out_failing_open():
    both = {("h1", "web.1"), ("h2", "web.2")}
    facts = _facts(hold.HELD, web1_state="unhealthy")
    # nobody healthy: the task that may answer gets traffic, the held one none
    assert [b.get("weight", 1) for b in availability.mask_backends(WEB, facts)[0]["backends"]] == [1, 0]
    assert waits.not_drained(both, facts, _records(facts)) == []


def test_serving_once_healthy_and_applied_and_nothing_without_facts():
    web2 = {("h2", "web.2")}
    held, back = _facts(hold.HELD), _facts("healthy")
    assert waits.not_serving(web2, held, _records(held)) == [("web.2 on h2", "held here")]
    assert waits.not_serving(web2, back, _records(held)) == [("client.1", "balancing not applied yet")]
    assert waits.not_serving(web2, back, _records(back)) == []
    assert waits.not_serving(web2, None, {}) == [("facts", waits.NO_FACTS)]


def _local(state, process, output=""):
    return {"node": "h1", "local": {"web.1": {"state": state, "process": process, "output": output}}}


def test_stable_needs_one_process_healthy_for_the_whole_monitor_and_a_restart_starts_over():
    stability = waits.Stability(5.0)
    assert stability.pending(["web.1"], _local("healthy", [10, 1]), 0.0) == [("web.1", "healthy for 0.0s of 5s")]
    assert stability.pending(["web.1"], _local("healthy", [10, 1]), 4.0) == [("web.1", "healthy for 4.0s of 5s")]
    assert stability.pending(["web.1"], _local("healthy", [11, 2]), 4.5) == [("web.1", "healthy for 0.0s of 5s")]
    assert stability.pending(["web.1"], _local("stopped", None, "exit 1\n"), 5.0) == [
        ("web.1", "stopped (exit 1), 2 processes started and gone meanwhile")]
    assert stability.pending(["web.1"], _local("healthy", [12, 3]), 6.0) != []
    assert stability.pending(["web.1"], _local("healthy", [12, 3]), 11.0) == []


def test_stable_waits_for_the_process_just_started_not_the_one_the_agent_still_reports():
    stability = waits.Stability(1.0)
    assert stability.pending(["web.1"], _local("healthy", [10, 1]), 0.0, {"web.1": 11}) == [
        ("web.1", "process 10 is not the one started (11)")]
    assert stability.pending(["web.1"], _local("healthy", [10, 1]), 5.0, {"web.1": 11}) != []
    assert stability.pending(["web.1"], _local("healthy", [11, 2]), 5.5, {"web.1": 11}) != []
    assert stability.pending(["web.1"], _local("healthy", [11, 2]), 6.5, {"web.1": 11}) == []


def test_a_started_process_that_exited_fails_at_once_whatever_the_agent_still_reports():
    stability = waits.Stability(1.0)
    running = {11}
    assert stability.pending(["web.1"], _local("healthy", [10, 1]), 0.0, {"web.1": 11}, running.__contains__) == [
        ("web.1", "process 10 is not the one started (11)")]
    assert not stability.exited
    running.clear()
    assert stability.pending(["web.1"], _local("healthy", [10, 1]), 0.5, {"web.1": 11}, running.__contains__) == [
        ("web.1", "the process started (pid 11) exited")]
    assert stability.exited == {"web.1"}


class _Clock:
    """A clock that moves only when the wait sleeps."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_until_looks_again_until_nothing_is_pending_or_the_time_is_up():
    clock = _Clock()
    looks = []

    def look(now):
        looks.append(now)
        return [] if now >= 100.9 else [("web.2 on h2", "healthy here")]
    assert waits.until(look, 5, clock=clock, sleep=clock.sleep) == ([], clock.now - 100)
    assert 100.9 <= clock.now < 101.2 and len(looks) == 6
    clock = _Clock()
    pending, waited = waits.until(lambda now: [("web.2 on h2", "healthy here")], 1, clock=clock, sleep=clock.sleep)
    assert pending == [("web.2 on h2", "healthy here")] and 1 <= waited < 1.2
    assert waits.failure("drained", pending, "1s") == "not drained after 1s: web.2 on h2: healthy here"


def test_until_stops_at_once_when_the_wait_can_never_succeed():
    clock = _Clock()
    pending, waited = waits.until(lambda now: [("web.1", "exited")], 60, given_up=lambda: True,
                                  clock=clock, sleep=clock.sleep)
    assert pending == [("web.1", "exited")] and waited == 0
