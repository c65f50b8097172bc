"""The live layer's installation: its programs, their supervised specs and the agent's configuration."""

import json
import os
import socket
import subprocess
import sys

from ansible_collections.swarmnet.overlay.plugins.module_utils.host import deploy, live
from ansible_collections.swarmnet.overlay.plugins.module_utils.live import agent_config, health, hold, live_agent, live_hint, \
    membership, probes

PARAMS = {"node": "h2", "advertise_addr": "198.18.0.12", "port": 7946, "supervisor": "auto",
          "peers": [{"name": "h3", "address": "198.18.0.13"}, {"name": "h1", "address": "198.18.0.11"}],
          "tasks": [{"name": "web.2", "service": "web", "sandbox": "web.2", "address": "10.10.1.6",
                     "healthcheck": None, "supervised": True}],
          "services": [{"name": "web", "tasks": [{"name": "web.1", "host": "h1"}, {"name": "web.2", "host": "h2"}]},
                       {"name": "api", "tasks": [{"name": "api.1", "host": "h1"}]}]}


def test_both_programs_run_from_nothing_but_their_deployed_files(tmp_path):
    layout = live.Layout("/var/lib/swarmnet", sys.executable)
    program = layout.program_files()
    assert layout.entry_points() <= set(program)
    for path, text in program.items():
        target = tmp_path / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    lib = str(tmp_path / deploy.LIB_DIR.lstrip("/"))
    for program_module in (live_agent, live_hint):     # the agent imports live_hint to read the handler's datagrams
        package, name = program_module.__name__.rsplit(".", 1)
        check = subprocess.run(
            [sys.executable, "-I", "-c", "import sys; sys.path.insert(0, %r); from %s import %s; print(%s.__file__)"
             % (lib, package, name, name)],
            capture_output=True, text=True, check=False, env={"PATH": os.environ.get("PATH", "")})
        assert check.returncode == 0, check.stderr
        assert check.stdout.strip().startswith(lib)


def _handler_sends(tmp_path, environ, payload):
    """What Serf's handler, run as Serf runs it (/bin/sh -c, the payload on stdin), sends to a socket."""
    path = str(tmp_path / "agent.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(5)
        done = subprocess.run(["/bin/sh", "-c", live_hint.command(path)], input=payload, text=True,
                              env=dict(environ, PATH=os.environ.get("PATH", "")), check=False)
        assert done.returncode == 0
        sent = sock.recv(4096)
    os.unlink(path)
    return sent


def test_serf_s_handler_says_which_event_and_which_host_changed(tmp_path):
    sent = _handler_sends(tmp_path, {"SERF_EVENT": "user", "SERF_USER_EVENT": "swarmnet-health"}, "h2 1795.ab.Aw\n")
    assert live_hint.parse(sent) == ("hint", "h2", "1795.ab.Aw")
    sent = _handler_sends(tmp_path, {"SERF_EVENT": "user", "SERF_USER_EVENT": "swarmnet-health"}, "h2 1795")
    assert live_hint.parse(sent) == ("seq", "h2", 1795)
    sent = _handler_sends(tmp_path, {"SERF_EVENT": "member-failed"}, "h3\t198.18.0.13\t\t\n")
    assert live_hint.parse(sent) == ("poll",)
    assert live_hint.parse(b"user other-event h2 17") == ("poll",)
    assert live_hint.parse(b"swarmnet-live: held") == ("held",)          # task_hold's own datagram
    sent = _handler_sends(tmp_path, {"SERF_EVENT": "member-failed"}, "held\t198.18.0.13\t\t\n")
    assert live_hint.parse(sent) == ("poll",)                             # a host named held is no hold


def test_serf_s_handler_succeeds_with_no_agent_listening(tmp_path):
    done = subprocess.run(["/bin/sh", "-c", live_hint.command(str(tmp_path / "none.sock"))], input="h2 1\n",
                          text=True, env={"SERF_EVENT": "user", "PATH": os.environ.get("PATH", "")}, check=False)
    assert done.returncode == 0


def test_a_new_serf_configuration_restarts_serf_new_code_the_agent_and_nothing_else_does():
    layout = live.Layout("/var/lib/swarmnet", "/opt/swarmnet/venv/bin/python")
    serf = layout.serf_spec("/usr/bin/serf", "config one")
    assert serf["command"] == ["/usr/bin/serf", "agent", "-config-file", "/var/lib/swarmnet/live/serf.json"]
    assert serf["program"] != layout.serf_spec("/usr/bin/serf", "config two")["program"]
    agent = layout.agent_spec({"/a": "code"})
    assert agent["command"] == ["/opt/swarmnet/venv/bin/python", layout.agent_entry, "/var/lib/swarmnet"]
    assert agent["program"] != layout.agent_spec({"/a": "new code"})["program"]
    assert "/var/lib/swarmnet/live/agent.sock" in layout.hint_command()


def test_the_agent_knows_every_host_s_tasks_and_diffs_never_show_the_token():
    text = live.agent_config_text(PARAMS, "secret-token", "127.0.0.1:7373")
    config = json.loads(text)
    assert config["view"] == {"h1": ["api.1", "web.1"], "h2": ["web.2"]}
    assert [p["name"] for p in config["peers"]] == ["h1", "h3"]
    assert "secret-token" in text and "secret-token" not in live.shown(text)
    assert live.shown(text) == live.shown(live.agent_config_text(PARAMS, "", ""))


def test_a_step_s_healthchecks_rewrite_agent_json_as_the_live_role_would_with_those_checks():
    tcp = {"kind": "tcp", "port": 81, "interval": 1.0, "timeout": 1.0, "retries": 2, "start_period": 0.0,
           "start_interval": 5.0}
    text = live.agent_config_text(PARAMS, "secret-token", "127.0.0.1:7373")
    stepped = agent_config.with_checks(text, {"web.2": tcp, "web.9": None})     # web.9: not watched here
    with_tcp = dict(PARAMS, tasks=[dict(PARAMS["tasks"][0], healthcheck=tcp)])
    assert stepped == live.agent_config_text(with_tcp, "secret-token", "127.0.0.1:7373")
    assert agent_config.checks(stepped) == {"web.2": tcp} and agent_config.checks(text) == {"web.2": None}
    assert agent_config.checks(None) == {} and agent_config.checks("not json") == {}


def test_a_probe_of_a_process_that_was_replaced_is_discarded_and_probing_goes_on(tmp_path):
    """A task restarted while its probe ran: the outcome is dropped, and the new process is probed."""
    agent = live_agent.Agent(str(tmp_path))
    check = health.normalise({"tcp": 80, "interval": 1, "retries": 1}, lambda *problem: None)
    state = health.TaskHealth(check, True, 0.0)
    agent.tasks = {"web.1": state}
    state.observe((100, 1), 0.0)
    state.probe_started(1.0)
    state.observe((200, 2), 1.5)                      # restarted while the probe ran
    agent.probe_done("web.1", (100, 1), (True, "old process"))
    assert not state.healthy and state.output == ""   # nothing learnt from the old process
    assert state.due(2.5)                             # and the new one is probed


def test_a_held_task_is_told_not_healthy_everywhere_and_keeps_its_own_health_underneath(tmp_path):
    agent = live_agent.Agent(str(tmp_path))
    agent.config = {"node": "h1", "view": {"h1": ["web.1", "web.2"]}}
    agent.tasks = {name: health.TaskHealth(None, True, 0.0) for name in ("web.1", "web.2")}
    for number, state in enumerate(agent.tasks.values()):
        state.observe((100 + number, 1), 0.0)
    assert membership.decode(agent.local_tag(), ["web.1", "web.2"])[1] == {"web.1": "healthy", "web.2": "healthy"}
    os.makedirs(os.path.dirname(hold.path(str(tmp_path))))
    with open(hold.path(str(tmp_path)), "w") as f:
        f.write(hold.text(["web.2"]))
    assert agent.load_held() and not agent.load_held()          # read once, then only when it changes
    assert membership.decode(agent.local_tag(), ["web.1", "web.2"])[1] == {"web.1": "healthy", "web.2": "out"}
    facts = agent.current_facts(1.0)
    assert facts["tasks"]["h1"] == {"web.1": "healthy", "web.2": hold.HELD}
    assert (facts["local"]["web.2"]["state"], facts["local"]["web.2"]["held"]) == ("healthy", True)
    os.unlink(hold.path(str(tmp_path)))
    assert agent.load_held() and agent.current_facts(2.0)["tasks"]["h1"]["web.2"] == "healthy"


def _agent_seeing_h1_alive(tmp_path):
    agent = live_agent.Agent(str(tmp_path))
    agent.config = {"node": "h2", "view": {"h1": ["web.1"], "h2": ["web.2"]}}
    agent.statuses = {"h1": "alive", "h2": "alive"}
    return agent


def test_a_tag_carried_by_an_event_counts_at_once_and_an_older_one_in_serf_s_list_does_not_undo_it(tmp_path):
    agent = _agent_seeing_h1_alive(tmp_path)
    down, up = membership.encode(100, ["web.1"], set()), membership.encode(200, ["web.1"], {"web.1"})
    agent.remote_health({"name": "h1", "tags": {membership.HEALTH_TAG: down}}, 0.0)
    assert agent.remote["h1"] == {"web.1": "unhealthy"}
    agent.hint_arrived("h1", up, 1.0)
    assert agent.remote["h1"] == {"web.1": "healthy"}
    agent.remote_health({"name": "h1", "tags": {membership.HEALTH_TAG: down}}, 2.0)    # Serf's list lags
    assert agent.remote["h1"] == {"web.1": "healthy"}
    agent.remote_health({"name": "h1", "tags": {membership.HEALTH_TAG: down}}, 9.0)    # seconds, on a busy host
    assert agent.remote["h1"] == {"web.1": "healthy"}
    agent.remote_health({"name": "h1", "tags": {membership.HEALTH_TAG: down}}, 1.0 + live_agent.HINT_HOLD + 0.1)
    assert agent.remote["h1"] == {"web.1": "unhealthy"}      # past the hold, Serf's list is the truth again


def test_the_event_s_tag_stands_only_until_serf_s_list_has_caught_up_with_it(tmp_path):
    agent = _agent_seeing_h1_alive(tmp_path)
    up = membership.encode(200, ["web.1"], {"web.1"})
    agent.hint_arrived("h1", up, 1.0)
    agent.remote_health({"name": "h1", "tags": {membership.HEALTH_TAG: up}}, 1.5)      # the list has it
    assert agent.hinted == {}
    older = membership.encode(100, ["web.1"], set())       # a clock that went back: the list is the truth
    agent.remote_health({"name": "h1", "tags": {membership.HEALTH_TAG: older}}, 2.0)
    assert agent.remote["h1"] == {"web.1": "unhealthy"}


def test_an_event_older_than_the_health_known_is_old_news(tmp_path):
    """Serf hands an event a host missed on at its next state exchange with a peer, after newer ones:
    it must not put a task that died since back into traffic until the next look at the list."""
    agent = _agent_seeing_h1_alive(tmp_path)
    up, down = membership.encode(100, ["web.1"], {"web.1"}), membership.encode(200, ["web.1"], set())
    agent.hint_arrived("h1", down, 1.0)
    agent.hint_arrived("h1", up, 2.0)                   # late, from an earlier change
    assert agent.remote["h1"] == {"web.1": "unhealthy"}
    agent.remote_health({"name": "h1", "tags": {membership.HEALTH_TAG: down}}, 3.0)    # the list caught up
    agent.hint_arrived("h1", up, 4.0)
    agent.hint_arrived("h1", down, 4.5)                 # the same tag again: nothing new
    assert agent.remote["h1"] == {"web.1": "unhealthy"} and agent.hinted == {}
    agent.hint_arrived("h1", membership.encode(300, ["web.1"], {"web.1"}), 5.0)
    assert agent.remote["h1"] == {"web.1": "healthy"}


def test_a_member_list_read_before_a_change_does_not_cancel_its_announcement(tmp_path):
    """The list still shows the old tag, so the agent sets its tag again: the event of the change, not
    sent yet, must still go (without it the others learn the change only at their next look at Serf)."""
    agent = live_agent.Agent(str(tmp_path))
    agent.config = {"node": "h2", "address": "10.0.0.2", "peers": [], "view": {"h2": ["web.2"]}}
    before, after = membership.encode(100, ["web.2"], {"web.2"}), membership.encode(200, ["web.2"], set())
    agent.tag = after
    agent.publishes.put(live_agent.Publish(after, announce=True))
    agent.members_arrived([{"name": "h2", "addr": "10.0.0.2", "status": "alive",
                            "tags": {membership.HEALTH_TAG: before}}])
    assert agent.publishes.take(0) == live_agent.Publish(after, announce=True)
    agent.members_arrived([{"name": "h2", "addr": "10.0.0.2", "status": "alive",
                            "tags": {membership.HEALTH_TAG: before}}])
    assert agent.publishes.take(0) == live_agent.Publish(after, announce=False)     # a re-set alone


def test_an_event_names_a_tag_too_long_for_serf_by_its_number(tmp_path):
    short = membership_tag(["web.1"])
    assert live_agent.hint_payload("h1", short) == "h1 " + short
    long_tag = membership_tag(["t%d" % i for i in range(3000)])
    assert live_agent.hint_payload("h1", long_tag) == "h1 " + long_tag.split(".")[0]
    agent = _agent_seeing_h1_alive(tmp_path)
    agent.hint_arrived("h2", short, 0.0)                # its own event comes back: nothing learnt
    agent.hint_arrived("h9", short, 0.0)                # a host of no plan: nothing learnt
    assert agent.remote == {} and agent.hinted == {}


def membership_tag(names):
    return membership.encode(1795862150175, names, set(names))


def test_an_exec_probe_runs_at_the_default_priority_whatever_the_agent_s():
    assert probes.exec_argv("web.1", ["true"], -10) == ["nice", "-n", "10", "ip", "netns", "exec", "web.1", "true"]
    assert probes.exec_argv("web.1", ["true"], 0) == ["ip", "netns", "exec", "web.1", "true"]


def _write_agent_config(state_dir, peers):
    os.makedirs(os.path.dirname(live.agent_config_path(state_dir)), exist_ok=True)
    config = {"node": "h1", "address": "198.18.0.11", "rpc_addr": "127.0.0.1:7373", "rpc_auth": "", "supervisor": "swarmnet",
              "tasks": [], "peers": [{"name": name, "address": "198.18.0.%d" % (10 + int(name[1:]))} for name in peers],
              "view": {name: ["web.%s" % name[1:]] for name in ["h1"] + peers}}
    with open(live.agent_config_path(state_dir), "w") as f:
        json.dump(config, f)
    stat = os.stat(live.agent_config_path(state_dir))
    os.utime(live.agent_config_path(state_dir), ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))   # read again


def test_a_host_the_configuration_no_longer_plans_leaves_the_facts_with_it(tmp_path):
    """The facts carry the new configuration's digest at once, and live_agent returns then: what Serf last
    said of a host that left the inventory must not stand in them until Serf's next answer."""
    agent = live_agent.Agent(str(tmp_path))
    _write_agent_config(str(tmp_path), ["h2", "h3"])
    assert agent.load_config()
    agent.members_arrived([{"name": name, "addr": "198.18.0.%d" % (10 + n), "status": "alive",
                            "tags": {membership.HEALTH_TAG: membership.encode(100, ["web.%d" % n], {"web.%d" % n})}}
                           for n, name in ((1, "h1"), (2, "h2"), (3, "h3"), (9, "x"))])
    assert set(agent.current_facts(1.0)["tasks"]) == {"h1", "h2", "h3"}
    _write_agent_config(str(tmp_path), ["h2"])
    assert agent.load_config()
    facts = agent.current_facts(2.0)
    assert "h3" not in json.dumps(facts)
    assert facts["hosts"] == {"h1": "alive", "h2": "alive"} and set(facts["tasks"]) == {"h1", "h2"}
    assert [m["name"] for m in facts["members"]] == ["h1", "h2", "x"]      # a member never planned stays listed
