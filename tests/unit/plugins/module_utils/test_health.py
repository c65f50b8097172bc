"""Task health with Docker's semantics: the healthcheck a service declares, and one task's state over time."""

import pytest

from ansible_collections.swarmnet.overlay.plugins.module_utils.live import health

HTTP = {"http": {"port": 80, "path": "/healthz"}, "interval": "1s", "timeout": "1s", "retries": 2}


def normalised(check):
    problems = []
    result = health.normalise(check, lambda key, value, why: problems.append((key, value, why)))
    return result, problems


def valid(check):
    result, problems = normalised(check)
    assert problems == []
    return result


@pytest.mark.parametrize("text, seconds", [
    (1, 1.0), (0.5, 0.5), ("2", 2.0), ("1s", 1.0), ("500ms", 0.5), ("1m30s", 90.0), ("1h", 3600.0),
    ("1.5s", 1.5), ("", None), ("1 s", None), ("5x", None), (True, None), (None, None), ([1], None)])
def test_durations_are_seconds_or_go_durations(text, seconds):
    assert health.duration(text) == seconds


def test_an_http_check_gets_docker_defaults_for_what_it_does_not_say():
    check, problems = normalised({"http": {"port": "8080"}})
    assert problems == []
    assert check == {"kind": "http", "port": 8080, "path": "/", "interval": 30.0, "timeout": 30.0, "retries": 3,
                     "start_period": 0.0, "start_interval": 5.0}


@pytest.mark.parametrize("test, argv", [
    ("curl -f localhost", ["/bin/sh", "-c", "curl -f localhost"]),
    (["CMD-SHELL", "curl -f localhost"], ["/bin/sh", "-c", "curl -f localhost"]),
    (["CMD", "curl", "-f", "localhost"], ["curl", "-f", "localhost"]),
    (["pg_isready"], ["pg_isready"]),
])
def test_docker_test_forms_become_an_argv(test, argv):
    check, problems = normalised({"test": test, "interval": 2})
    assert problems == [] and check["kind"] == "exec" and check["command"] == argv


@pytest.mark.parametrize("check", [None, {"disable": True}, {"test": ["NONE"]}])
def test_none_disable_and_test_none_mean_no_healthcheck(check):
    assert normalised(check) == (None, [])


@pytest.mark.parametrize("check, key, value, why", [
    ({"tcp": 80, "intervall": "1s"}, ".intervall", "1s", "unknown key"),
    ({"tcp": 80, "interval": "500ms"}, ".interval", "500ms", "at least 1s"),
    ({"tcp": 80, "interval": "2s", "timeout": "3s"}, ".timeout", "3s", "must not be longer than the interval"),
    ({"tcp": 80, "timeout": 0}, ".timeout", 0, "more than 0"),
    ({"tcp": 80, "retries": 0}, ".retries", 0, "1 or more"),
    ({"tcp": 80, "retries": "two"}, ".retries", "two", "1 or more"),
    ({"tcp": 70000}, ".tcp", 70000, "not a port"),
    ({"http": {"port": 0}}, ".http.port", 0, "not a port"),
    ({"http": {"port": 80, "path": "health"}}, ".http.path", "health", "starting with /"),
    ({"http": {"port": 80, "host": "x"}}, ".http.host", "x", "unknown key"),
    ({"http": 80}, ".http", 80, "must be a mapping"),
    ({"tcp": 80, "http": {"port": 80}}, "", {"tcp": 80, "http": {"port": 80}}, "exactly one of test, tcp or http"),
    ({"interval": "1s"}, "", {"interval": "1s"}, "exactly one of test, tcp or http"),
    ({"test": []}, ".test", [], "a command"),
    ({"test": ["CMD-SHELL"]}, ".test", ["CMD-SHELL"], "a command"),
    ({"tcp": 80, "start_period": "soon"}, ".start_period", "soon", "a duration"),
    ({"tcp": 80, "disable": "yes"}, ".disable", "yes", "true or false"),
    ("tcp 80", "", "tcp 80", "must be a mapping"),
])
def test_bad_healthchecks_are_refused_naming_key_and_value(check, key, value, why):
    result, problems = normalised(check)
    assert result is None
    assert [(k, v) for k, v, _w in problems] == [(key, value)]
    assert why in problems[0][2]


def test_a_timeout_as_long_as_the_interval_is_taken():
    check, problems = normalised(HTTP)
    assert problems == [] and (check["interval"], check["timeout"], check["retries"]) == (1.0, 1.0, 2)


def run(state, events):
    """Feed (time, event, arg) to a TaskHealth; returns the state after each."""
    seen = []
    for now, event, arg in events:
        if event == "process":
            state.observe(arg, now)
        elif event == "probe":
            assert state.due(now), "no probe due at %s" % now
            state.probe_started(now)
            state.result(arg, "", now)
        seen.append(state.state)
    return seen


def test_unhealthy_after_retries_failures_in_a_row_healthy_again_after_one_success():
    check = valid(HTTP)
    state = health.TaskHealth(check, True, 0.0)
    assert run(state, [(0.0, "process", (10, 1)), (1.0, "probe", True), (2.0, "probe", False),
                       (3.0, "probe", True), (4.0, "probe", False), (5.0, "probe", False), (6.0, "probe", True)]) \
        == ["starting", "healthy", "healthy", "healthy", "healthy", "unhealthy", "healthy"]


def test_a_restarted_task_starts_again_and_gets_no_traffic_until_it_passes():
    check = valid(HTTP)
    state = health.TaskHealth(check, True, 0.0)
    assert run(state, [(0.0, "process", (10, 1)), (1.0, "probe", True), (5.0, "process", None),
                       (5.5, "process", (11, 2))]) == ["starting", "healthy", "stopped", "starting"]
    assert not state.due(6.0) and state.due(6.5)        # the first probe an interval after the start
    state.probe_started(6.5)
    state.result(True, "HTTP 200 OK", 6.6)
    assert state.healthy and state.report()["output"] == "HTTP 200 OK"


def test_failures_in_the_start_period_do_not_count_until_the_task_first_passes():
    check = valid(dict(HTTP, start_period="10s", start_interval="1s"))
    state = health.TaskHealth(check, True, 0.0)
    states = run(state, [(0.0, "process", (10, 1))] + [(float(t), "probe", False) for t in range(1, 9)])
    assert set(states) == {"starting"} and state.failures == 0
    assert run(state, [(10.0, "probe", False), (11.0, "probe", False)]) == ["starting", "unhealthy"]


def test_start_interval_paces_probes_only_in_the_start_period():
    check = valid({"tcp": 80, "interval": "30s", "start_period": "60s", "start_interval": "2s"})
    state = health.TaskHealth(check, True, 0.0)
    state.observe((1, 1), 0.0)
    assert not state.due(1.9) and state.due(2.0)
    state.probe_started(2.0)
    state.result(True, "", 2.1)
    assert not state.due(4.0) and not state.due(31.9) and state.due(32.0)


def test_probes_start_every_interval_and_never_overlap():
    check = valid(HTTP)
    state = health.TaskHealth(check, True, 0.0)
    state.observe((1, 1), 0.0)
    state.probe_started(1.0)
    assert not state.due(2.5)                   # still running
    state.result(False, "timed out", 2.0)
    assert state.due(2.0)                        # due since 2.0, one interval after the last start


def test_without_a_healthcheck_a_task_is_healthy_while_its_process_runs():
    state = health.TaskHealth(None, True, 0.0)
    assert run(state, [(0.0, "process", (10, 1)), (3.0, "process", None), (4.0, "process", (11, 1))]) \
        == ["healthy", "stopped", "healthy"]
    assert not state.due(100.0)


def test_an_explicit_task_is_healthy_unless_its_probe_says_otherwise():
    assert health.TaskHealth(None, False, 0.0).healthy
    check = valid({"tcp": 5432, "interval": 1, "retries": 1})
    state = health.TaskHealth(check, False, 0.0)
    assert state.state == "starting" and state.due(1.0)
    state.observe(None, 1.0)                      # no process to watch: ignored
    assert run(state, [(1.0, "probe", False), (2.0, "probe", True)]) == ["unhealthy", "healthy"]


def test_a_probe_that_ends_after_its_process_went_changes_nothing():
    check = valid(HTTP)
    state = health.TaskHealth(check, True, 0.0)
    state.observe((1, 1), 0.0)
    state.probe_started(1.0)
    state.observe(None, 1.5)
    state.result(True, "", 1.6)
    assert state.state == "stopped"


def test_a_restarted_agent_keeps_the_health_of_a_task_whose_process_is_the_same():
    check = valid(HTTP)
    before = health.TaskHealth(check, True, 0.0)
    run(before, [(0.0, "process", (10, 1)), (1.0, "probe", True), (2.0, "probe", False), (3.0, "probe", False)])
    report = before.report()
    assert report["state"] == "unhealthy" and report["process"] == [10, 1]
    after = health.TaskHealth(check, True, 50.0)
    assert after.carry_over(report, (10, 1), 50.0)
    after.observe((10, 1), 50.0)                       # the same process: nothing starts again
    assert after.state == "unhealthy" and after.failures == 2 and after.since == report["monotonic_since"]
    assert not after.due(50.5) and after.due(51.0)
    restarted = health.TaskHealth(check, True, 50.0)
    assert not restarted.carry_over(report, (11, 7), 50.0)      # another process: it starts afresh
    assert restarted.state == "stopped"
