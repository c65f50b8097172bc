"""The live layer's kernel and program pieces, for real, in a throwaway host (see run.sh).

Probes from inside a sandbox against a real server (frozen, resumed, killed); balancing
masked by facts and recorded, with a VIP left without backends refusing at once; and
three real Serf agents on one segment: tags travel, a host whose link goes down is
failed, an agent with another key never becomes a member.
"""

import hashlib
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from ansible_collections.swarmnet.overlay.plugins.module_utils.host import files, live, task
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import netns
from ansible_collections.swarmnet.overlay.plugins.module_utils.live import (
    agent_config, availability, health, hold, lb_records, live_agent, live_balancing, live_hint, membership, probes)
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import lb
from ansible_collections.swarmnet.overlay.plugins.module_utils.reconcile import Changes

if os.environ.get("SWARMNET_ISOLATED") != "1":
    pytest.skip("run through tests/integration/run.sh (isolated namespaces)", allow_module_level=True)

KEY = "5ca1ab1e" * 8
SERVER = """
import http.server, sys
class Whoami(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = self.connection.getsockname()[0].encode()
        self.send_response(200 if self.path == "/" else 503)
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("", 80), Whoami).serve_forever()
"""


def sh(*args):
    subprocess.run(args, check=True, capture_output=True)


def segment(names, prefix="10.9.0."):
    """Namespaces on one bridge (in namespace `seg`): {name: address}."""
    sh("ip", "netns", "add", "seg")
    sh("ip", "-n", "seg", "link", "add", "br0", "type", "bridge")
    sh("ip", "-n", "seg", "link", "set", "br0", "up")
    found = {}
    for i, name in enumerate(names):
        found[name] = "%s%d" % (prefix, 11 + i)
        sh("ip", "netns", "add", name)
        sh("ip", "-n", "seg", "link", "add", "p-%s" % name, "type", "veth", "peer", "name", "eth0", "netns", name)
        sh("ip", "-n", "seg", "link", "set", "p-%s" % name, "master", "br0", "up")
        sh("ip", "-n", name, "addr", "add", found[name] + "/24", "dev", "eth0")
        sh("ip", "-n", name, "link", "set", "eth0", "up")
        sh("ip", "-n", name, "link", "set", "lo", "up")
    return found


@pytest.fixture
def cleanup():
    procs = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            proc.kill()
            proc.wait()
    for name in netns.names():
        netns.remove(name)


def check(**given):
    problems = []
    result = health.normalise(dict(given), lambda *p: problems.append(p))
    assert not problems, problems
    return result


def test_probes_see_from_inside_the_sandbox_what_a_client_would(cleanup):
    address = segment(["task"])["task"]
    server = subprocess.Popen(["ip", "netns", "exec", "task", sys.executable, "-c", SERVER])
    cleanup.append(server)
    http, tcp = check(http={"port": 80}, interval=1, timeout=1), check(tcp=80, interval=1, timeout=1)
    listening = check(test=["CMD-SHELL", "ss -Htln 'sport = :80' | grep -q ."], interval=1, timeout=1)
    deadline = time.time() + 5
    while not probes.run(tcp, "task", address)[0] and time.time() < deadline:
        time.sleep(0.05)
    assert probes.run(http, "task", address) == (True, "HTTP 200 OK")
    assert probes.run(check(http={"port": 80, "path": "/sick"}, interval=1), "task", address) \
        == (False, "HTTP 503 Service Unavailable")
    assert probes.run(listening, "task", address)[0]
    assert not probes.run(check(test="exit 3", interval=1), "task", address)[0]
    # Frozen: the kernel still completes the handshake, the server never answers.
    server.send_signal(signal.SIGSTOP)
    started = time.monotonic()
    assert probes.run(http, "task", address) == (False, "timed out after 1s")
    assert 0.9 < time.monotonic() - started < 1.5
    assert probes.run(tcp, "task", address)[0]
    server.send_signal(signal.SIGCONT)
    assert probes.run(http, "task", address)[0]
    server.kill()
    server.wait()
    ok, seen = probes.run(tcp, "task", address)
    assert not ok and "refused" in seen
    assert not probes.run(listening, "task", address)[0]
    slow = check(test="sleep 5", interval=1, timeout=0.5)
    started = time.monotonic()
    assert probes.run(slow, "task", address) == (False, "timed out after 0.5s")
    assert time.monotonic() - started < 1.5


def web_vip(address):
    """web's VIP 10.9.0.100 balanced to web.1 in t1 (on h1) and web.2 in t2 (on h2)."""
    return [{"fwmark": 256, "vip": "10.9.0.100", "backends": [
        {"address": address["t1"], "task": "web.1", "host": "h1"},
        {"address": address["t2"], "task": "web.2", "host": "h2"}]}]


def balance_in_client(state_dir, planned, facts, check_mode=False):
    """What the agent does with new facts in sandbox `client`; the changes it made."""
    changes = Changes(check_mode)
    with lb_records.locked(state_dir), netns.inside("client"):
        live_balancing.reconcile(state_dir, "client", "nftables", planned, "swarmnet_lb", changes, facts)
    return changes.done


def ask(conn):
    conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
    reply = b""
    while True:
        data = conn.recv(1000)
        if not data:
            return reply.split(b"\r\n\r\n", 1)[1].decode()
        reply += data


def answers_of_web():
    """The servers that answered 6 requests to web's VIP from `client` (each says its own address)."""
    with netns.inside("client"):
        seen = set()
        for _attempt in range(6):
            with socket.create_connection(("10.9.0.100", 80), timeout=2) as conn:
                seen.add(ask(conn))
        return seen


def test_balancing_follows_the_facts_and_a_vip_with_no_task_left_refuses_at_once(cleanup, tmp_path):
    address = segment(["client", "t1", "t2"])
    for name in ("t1", "t2"):
        cleanup.append(subprocess.Popen(["ip", "netns", "exec", name, sys.executable, "-c", SERVER]))
    state_dir = str(tmp_path)
    planned = web_vip(address)

    def apply(facts, check_mode=False):
        return balance_in_client(state_dir, planned, facts, check_mode)

    answers = answers_of_web
    alive = {"hosts": {"h1": "alive", "h2": "alive"}, "tasks": {"h1": {"web.1": "healthy"}, "h2": {"web.2": "healthy"}}}
    assert apply(alive)
    time.sleep(0.3)
    assert answers() == {address["t1"], address["t2"]}
    record = lb_records.read_record(state_dir, "client")
    assert record["planned"] == lb.with_defaults(planned) == record["applied"]     # as the module records them
    with netns.inside("client"):    # round robin: two connections in a row, one to each task
        opened = [socket.create_connection(("10.9.0.100", 80), timeout=2) for _attempt in range(2)]
    sick = {"hosts": alive["hosts"], "tasks": {"h1": {"web.1": "healthy"}, "h2": {"web.2": "unhealthy"}}}
    predicted = apply(sick, check_mode=True)
    assert predicted == apply(sick) and predicted
    assert [(b["task"], b["weight"]) for b in lb_records.read_record(state_dir, "client")["applied"][0]["backends"]] \
        == [("web.1", 1), ("web.2", 0)]
    assert answers() == {address["t1"]}
    # web.2 is quiesced, not removed: the request it was about to serve is answered (a slow task's
    # in-flight request is not cut off because a health check timed out).
    assert {ask(conn) for conn in opened} == {address["t1"], address["t2"]}
    for conn in opened:
        conn.close()
    assert apply(sick) == []                     # the same facts again: nothing to do
    apply(alive)
    with netns.inside("client"):
        opened = [socket.create_connection(("10.9.0.100", 80), timeout=2) for _attempt in range(2)]
    gone = {"hosts": {"h1": "failed", "h2": "left"}, "tasks": alive["tasks"]}
    apply(gone)
    assert [(b["task"], b["weight"]) for b in lb_records.read_record(state_dir, "client")["applied"][0]["backends"]] \
        == [("web.2", 0)]
    with netns.inside("client"):
        started = time.monotonic()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("10.9.0.100", 80), timeout=3)
        assert time.monotonic() - started < 0.5
    # h2 left (a shutdown: its tasks serve on until the others have heard): the request web.2 was
    # about to serve is answered, though its VIP now refuses new connections.
    answered = set()
    for conn in opened:
        conn.settimeout(1)
        try:
            answered.add(ask(conn))
        except OSError:        # web.1's: its host failed, its connection was cut
            pass
        conn.close()
    assert answered == {address["t2"]}
    apply(alive)
    assert answers() == {address["t1"], address["t2"]}
    with lb_records.locked(state_dir), netns.inside("client"):
        live_balancing.reconcile(state_dir, "client", "nftables", None, "swarmnet_lb", Changes(False), alive)
    assert lb_records.read_record(state_dir, "client") is None


def test_failing_open_sends_nothing_to_the_task_another_host_handed_over_from(cleanup, tmp_path):
    """A start-first handover on h2 has held its old task web.2 and stopped it; the new one, web.1 on h1,
    has not passed its probe yet (a starved host): no task is healthy. h2's health tag tells h1's agent
    that web.2 is out, and h1 fails open to web.1 alone, which answers; web.2 would refuse."""
    address = segment(["client", "t1", "t2"])
    cleanup.append(subprocess.Popen(["ip", "netns", "exec", "t1", sys.executable, "-c", SERVER]))
    h2 = live_agent.Agent(str(tmp_path / "h2"))
    h2.config = {"node": "h2", "view": {"h1": ["web.1"], "h2": ["web.2"]}}
    h2.tasks = {"web.2": health.TaskHealth(None, True, 0.0)}
    h2.tasks["web.2"].observe((100, 1), 0.0)       # as it ran before the handover: healthy
    h2.held = {"web.2"}
    h2.tasks["web.2"].observe(None, 1.0)           # then stopped
    h1 = live_agent.Agent(str(tmp_path / "h1"))
    h1.config = dict(h2.config, node="h1")
    h1.statuses = {"h1": "alive", "h2": "alive"}
    h1.tasks = {"web.1": health.TaskHealth(check(http={"port": 80}, interval="1s"), True, 0.0)}
    h1.tasks["web.1"].observe((200, 1), 0.5)       # started by the handover, not probed yet
    h1.remote_health({"name": "h2", "tags": {membership.HEALTH_TAG: h2.local_tag()}}, 1.5)
    facts = h1.current_facts(2.0)
    assert facts["tasks"] == {"h1": {"web.1": health.STARTING}, "h2": {"web.2": availability.OUT}}
    state_dir = str(tmp_path / "h1")
    assert balance_in_client(state_dir, web_vip(address), facts)
    assert [(b["task"], b.get("weight", 1)) for b in lb_records.read_record(state_dir, "client")["applied"][0]["backends"]] \
        == [("web.1", 1), ("web.2", 0)]
    time.sleep(0.3)
    assert answers_of_web() == {address["t1"]}


def test_the_agent_takes_newer_facts_in_the_middle_of_a_pass(cleanup, tmp_path, capsys):
    """A host lost while the agent switches sandboxes for a sick task: the sandbox the pass
    already did is switched again in the same pass, not a pass later."""
    address = segment(["c1", "c2", "c3"])
    state_dir = str(tmp_path)
    planned = [{"fwmark": 256, "vip": "10.9.0.100", "backends": [
        {"address": address["c2"], "task": "web.1", "host": "h1"},
        {"address": address["c3"], "task": "web.2", "host": "h2"}]}]
    alive = {"hosts": {"h1": "alive", "h2": "alive"}, "tasks": {"h1": {"web.1": "healthy"}, "h2": {"web.2": "healthy"}}}
    for sandbox in ("c1", "c2", "c3"):
        with lb_records.locked(state_dir), netns.inside(sandbox):
            live_balancing.reconcile(state_dir, sandbox, "nftables", planned, "swarmnet_lb", Changes(False), alive)
    sick = dict(alive, tasks={"h1": {"web.1": "unhealthy"}, "h2": {"web.2": "healthy"}})
    h2_gone = dict(sick, hosts={"h1": "alive", "h2": "failed"})
    agent = live_agent.Agent(state_dir)
    agent.write_facts(sick)
    agent.applies.put(h2_gone)          # arrives while the first sandbox is switched
    agent.reapply()
    switched = [line.split(" ", 2)[1] for line in capsys.readouterr().out.splitlines()]
    assert switched == ["c1:", "newer", "c2:", "c3:", "c1:"]      # c1 again, after those not switched yet
    assert {k: v for k, v in availability.read(state_dir).items() if k in h2_gone} == h2_gone
    wanted = availability.mask_backends(lb.with_defaults(planned), h2_gone)
    assert [(b["task"], b["weight"]) for b in wanted[0]["backends"]] == [("web.1", 1)]   # the sole one left serves
    for sandbox in ("c1", "c2", "c3"):
        assert lb_records.read_record(state_dir, sandbox)["applied"] == wanted
        rules = subprocess.run(["ip", "netns", "exec", sandbox, "nft", "list", "table", "ip", "swarmnet_lb"],
                               check=True, capture_output=True, text=True).stdout
        assert address["c2"] in rules and address["c3"] not in rules
    agent.reapply()
    assert capsys.readouterr().out == ""         # nothing left to switch


def test_a_hold_waits_until_this_host_has_drained_the_task_and_a_let_back_until_it_serves_it(
        cleanup, tmp_path, run_module):
    """task_hold with wait_for: one module run holds and waits until the balancing drops the task.
    The test plays the part of the agent's Serf round trip: once held.json names web.2 it hands
    the agent facts that call web.2 held, and the agent switches the real sandboxes."""
    address = segment(["c1", "c2"])
    state_dir = str(tmp_path / "state")
    planned = [{"fwmark": 256, "vip": "10.9.0.100", "backends": [
        {"address": address["c1"], "task": "web.1", "host": "h1"},
        {"address": address["c2"], "task": "web.2", "host": "h2"}]}]
    alive = {"hosts": {"h1": "alive", "h2": "alive"}, "tasks": {"h1": {"web.1": "healthy"}, "h2": {"web.2": "healthy"}}}
    held = dict(alive, tasks={"h1": {"web.1": "healthy"}, "h2": {"web.2": hold.HELD}})
    for sandbox in ("c1", "c2"):
        with lb_records.locked(state_dir), netns.inside(sandbox):
            live_balancing.reconcile(state_dir, sandbox, "nftables", planned, "swarmnet_lb", Changes(False), alive)
    agent = live_agent.Agent(state_dir)
    agent.write_facts(alive)
    web2 = [{"host": "h2", "name": "web.2"}]

    def follow(want_held, facts):
        """Once held.json says `want_held` for web.2, after a lag, the agent switches to `facts`."""
        def run():
            until(lambda: ("web.2" in hold.read(state_dir)) == want_held, 10)
            time.sleep(0.5)
            agent.write_facts(facts)
            agent.reapply()
        thread = threading.Thread(target=run)
        thread.start()
        return thread

    def weights():
        return {sandbox: [(b["task"], b["weight"]) for b in lb_records.read_record(state_dir, sandbox)["applied"][0]["backends"]]
                for sandbox in ("c1", "c2")}

    predicted = run_module("task_hold", check=True, tasks=["web.2"], wait_for=web2, wait_timeout=1, state_dir=state_dir)
    assert (predicted["changed"], predicted["held"], predicted["waited"]) == (True, ["web.2"], 0.0)   # no wait
    assert hold.read(state_dir) == set()
    thread = follow(True, held)
    result = run_module("task_hold", tasks=["web.2"], wait_for=web2, wait_timeout=10, state_dir=state_dir)
    thread.join()
    assert result["changed"] and result["held"] == ["web.2"] and result["pending"] == []
    assert result["waited"] >= 0.5                      # it waited for the switch, not only for the file
    assert weights() == {sandbox: [("web.1", 1), ("web.2", 0)] for sandbox in ("c1", "c2")}
    # The other hosts run it with no task of theirs: nothing changes, and the wait holds at once.
    assert run_module("task_hold", tasks=[], wait_for=web2, state_dir=state_dir)["changed"] is False
    assert run_module("task_hold", state="absent", tasks=[], state_dir=state_dir)["held"] == ["web.2"]

    thread = follow(False, alive)
    result = run_module("task_hold", state="absent", tasks=["web.2"], wait_for=web2, wait_timeout=10, state_dir=state_dir)
    thread.join()
    assert result["changed"] and result["held"] == [] and result["waited"] >= 0.5
    assert weights() == {sandbox: [("web.1", 1), ("web.2", 1)] for sandbox in ("c1", "c2")}

    # Nobody switches this time: the wait fails, naming the task and why, and the hold stays written.
    failed = run_module("task_hold", tasks=["web.2"], wait_for=web2, wait_timeout=1, state_dir=state_dir)
    assert failed["failed"] and failed["changed"] and hold.read(state_dir) == {"web.2"}
    assert failed["msg"] == "not drained after 1s: web.2 on h2: healthy here"


def test_a_hold_tells_the_agent_at_once_and_nothing_when_nothing_changed(tmp_path, run_module):
    """task_hold sends the agent a datagram when held.json changed, so the agent reads it at once rather
    than at its next look at the processes (every PROCESSES_EVERY)."""
    state_dir = str(tmp_path / "state")
    os.makedirs(availability.live_dir(state_dir))
    assert run_module("task_hold", tasks=["web.2"], state_dir=state_dir)["changed"]      # no agent: the file alone
    agent = live_agent.Agent(state_dir)
    listener = threading.Thread(target=agent.listener)
    listener.start()
    try:
        until(lambda: os.path.exists(live_hint.socket_path(state_dir)), 5)
        assert run_module("task_hold", tasks=["web.3"], state_dir=state_dir)["changed"]
        assert agent.events.get(timeout=5) == ("held",)
        assert agent.load_held() and agent.held == {"web.2", "web.3"}
        assert not run_module("task_hold", tasks=["web.3"], state_dir=state_dir)["changed"]
        assert run_module("task_hold", check=True, state="absent", state_dir=state_dir)["changed"]
        with pytest.raises(queue.Empty):            # nothing changed, or nothing written: nothing said
            agent.events.get(timeout=1)
        assert run_module("task_hold", state="absent", state_dir=state_dir)["held"] == []
        assert agent.events.get(timeout=5) == ("held",)
        assert agent.load_held() and agent.held == set()
    finally:
        agent.stop.set()
        listener.join()


def test_a_hold_a_broken_off_run_left_is_let_back_and_the_agent_told(tmp_path):
    """What the live role does at each converge (live_agent's let_back_held): every held task let back,
    the agent told at once; check mode only says so; with nothing held, nothing happens."""
    state_dir = str(tmp_path / "state")
    os.makedirs(availability.live_dir(state_dir))
    hold.write(state_dir, {"web.2", "api.1"})
    agent = live_agent.Agent(state_dir)
    assert agent.load_held() and agent.held == {"web.2", "api.1"}      # as the agent reads it when it starts
    listener = threading.Thread(target=agent.listener)
    listener.start()
    try:
        until(lambda: os.path.exists(live_hint.socket_path(state_dir)), 5)
        predicted = Changes(check_mode=True)
        hold.let_back_all(state_dir, predicted)
        assert predicted.done == ["let api.1, web.2 back into traffic (held by a run that did not end)"]
        assert hold.read(state_dir) == {"web.2", "api.1"}
        with pytest.raises(queue.Empty):
            agent.events.get(timeout=1)
        done = Changes(check_mode=False)
        hold.let_back_all(state_dir, done)
        assert done.changed and hold.read(state_dir) == set() and not os.path.exists(hold.path(state_dir))
        assert agent.events.get(timeout=5) == ("held",)
        assert agent.load_held() and agent.held == set()
        again = Changes(check_mode=False)
        hold.let_back_all(state_dir, again)
        assert not again.changed
    finally:
        agent.stop.set()
        listener.join()


def test_a_task_stopped_while_held_is_not_let_back_into_traffic(cleanup, tmp_path, run_module):
    """A start-first handover holds the old task, stops it, then lifts every hold. The agent reads the
    processes when the hold is lifted: the stopped task stays out of traffic, never healthy again until
    its next look at them (a client would have had its requests refused there)."""
    state_dir = str(tmp_path / "state")
    os.makedirs(availability.live_dir(state_dir))
    netns.create("old")
    old = {"name": "old.1", "service": "old", "sandbox": "old",
           "command": [sys.executable, "-c", "import time; time.sleep(600)"]}
    common = {"supervisor": "swarmnet", "state_dir": state_dir}
    assert run_module("service_task", tasks=[old], **common)["changed"]
    agent = live_agent.Agent(state_dir)
    agent.config = {"node": "h1", "view": {"h1": ["old.1"]}, "tasks": []}
    agent.runner = task.backend("swarmnet", live_agent._run_command, state_dir, sys.executable)
    agent.tasks = {"old.1": health.TaskHealth(None, True, 0.0)}    # no healthcheck: healthy while it runs

    def told_healthy():
        return membership.decode(agent.local_tag(), ["old.1"])[1]["old.1"] == availability.HEALTHY

    agent.handle(("tick",), 0.0)                                   # its first look at the processes
    assert told_healthy() and agent.next_processes == live_agent.PROCESSES_EVERY
    run_module("task_hold", tasks=["old.1"], state_dir=state_dir)
    assert agent.handle((live_hint.HELD,), 0.1) and not told_healthy()
    assert run_module("service_task", tasks=[{"name": "old.1"}], state="absent", **common)["changed"]
    run_module("task_hold", state="absent", state_dir=state_dir)
    assert agent.handle((live_hint.HELD,), 0.2)                   # before the next look at the processes
    assert agent.held == set() and not told_healthy() and agent.tasks["old.1"].state == health.STOPPED


def test_a_step_s_hold_sets_the_check_of_the_spec_it_restarts_on_once_the_agent_has_read_it(
        cleanup, tmp_path, run_module):
    """A rollout step holds its task with the healthcheck of the spec it restarts it on, and a rollback's
    step with the previous one: task_hold writes it into agent.json and returns once the agent has read
    it, and the agent probes the task with it. The agent runs here as in its main loop, without Serf;
    its task is a real process (the swarmnet supervisor), which listens on port 80 only."""
    address = segment(["web"])["web"]
    state_dir = str(tmp_path / "state")
    item = {"name": "web.1", "service": "web", "sandbox": "web", "command": [sys.executable, "-c", SERVER]}
    assert run_module("service_task", tasks=[item], supervisor="swarmnet", state_dir=state_dir)["changed"]
    on_80, on_81 = check(http={"port": 80}, interval=1, timeout=1), check(tcp=81, interval=1, timeout=1, retries=1)
    params = {"node": "h1", "advertise_addr": "198.18.0.11", "port": 7946, "supervisor": "swarmnet", "peers": [],
              "tasks": [{"name": "web.1", "service": "web", "sandbox": "web", "address": address,
                         "healthcheck": on_80, "supervised": True}],
              "services": [{"name": "web", "tasks": [{"name": "web.1", "host": "h1"}]}]}
    config_path = agent_config.path(state_dir)
    files.write(config_path, live.agent_config_text(params, "", "127.0.0.1:7373"), agent_config.MODE)
    agent = live_agent.Agent(state_dir)
    agent.members_seen = True
    driver = threading.Thread(target=drive, args=(agent,))
    driver.start()

    def state():
        return ((availability.read(state_dir) or {}).get("local") or {}).get("web.1", {}).get("state")
    try:
        until(lambda: state() == availability.HEALTHY, 10)
        predicted = run_module("task_hold", check=True, tasks=["web.1"], healthchecks={"web.1": on_81},
                               state_dir=state_dir)
        assert predicted["changed"] and predicted["checks_changed"] == ["web.1"]
        assert agent_config.probed_checks(state_dir) == {"web.1": on_80}
        held = run_module("task_hold", tasks=["web.1"], healthchecks={"web.1": on_81}, wait_timeout=10,
                          state_dir=state_dir)
        assert held["changed"] and held["held"] == ["web.1"] and held["checks_changed"] == ["web.1"]
        assert agent_config.probed_checks(state_dir) == {"web.1": on_81}
        assert availability.read(state_dir)["config"] == hashlib.sha256(files.read(config_path).encode()).hexdigest()
        until(lambda: state() == health.UNHEALTHY, 10)       # the old program fails the new spec's check
        # A rollback's step: the task is held already; the previous check goes back, and the agent is told.
        back = run_module("task_hold", tasks=["web.1"], healthchecks={"web.1": on_80}, wait_timeout=10,
                          state_dir=state_dir)
        assert back["changed"] and back["held"] == ["web.1"] and back["checks_changed"] == ["web.1"]
        until(lambda: state() == availability.HEALTHY, 10)
        again = run_module("task_hold", tasks=["web.1"], healthchecks={"web.1": on_80}, state_dir=state_dir)
        assert not again["changed"] and again["checks_changed"] == []
        stranger = run_module("task_hold", tasks=["web.1"], healthchecks={"web.2": on_80}, state_dir=state_dir)
        assert stranger["failed"] and stranger["msg"] == "healthchecks.web.2: not a task this run holds (tasks: web.1)"
    finally:
        agent.stop.set()
        driver.join()
        run_module("service_task", tasks=[{"name": "web.1"}], state="absent", supervisor="swarmnet", state_dir=state_dir)


def drive(agent):
    """The agent's main loop without Serf's threads: each event handled, the facts written when they change."""
    while not agent.stop.is_set():
        try:
            event = agent.events.get(timeout=0.1)
        except queue.Empty:
            event = ("tick",)
        now = time.monotonic()
        if agent.handle(event, now):
            agent.update(now)
        facts = agent.applies.take(0)
        if facts is not None:
            agent.write_facts(facts)


def serf_agent(name, address, key, procs, tmp_path):
    assert shutil.which("serf"), "serf is not installed (bindep.txt lists it; run make setup)"
    config = tmp_path / ("%s.json" % name)
    config.write_text(membership.config_text(name, address, 7946, key, "127.0.0.1:7373", "true"))
    proc = subprocess.Popen(["ip", "netns", "exec", name, "serf", "agent", "-config-file", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(proc)
    return membership.Serf("127.0.0.1:7373", membership.rpc_auth(key))


def inside(name, fn, *args):
    with netns.inside(name):
        return fn(*args)


def until(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        time.sleep(0.1)
    raise AssertionError("not within %ss" % timeout)


def test_serf_carries_tags_detects_a_lost_host_and_keeps_strangers_out(cleanup, tmp_path):
    address = segment(["h1", "h2", "h3", "x"])
    serf = {name: serf_agent(name, address[name], KEY, cleanup, tmp_path) for name in ("h1", "h2", "h3")}
    stranger = serf_agent("x", address["x"], "0f" * 32, cleanup, tmp_path)
    planned = {name: address[name] for name in ("h1", "h2", "h3")}
    clients = dict(serf, x=stranger)

    def members(name):
        try:
            return inside(name, clients[name].members)
        except membership.MembershipError:
            return []

    # Every agent answers its RPC before it is asked to join (slow to start on a busy machine), the
    # stranger too: its join must fail for its key, not because it is not up yet.
    for name in clients:
        until(lambda name=name: members(name) != [], 10)
    inside("h2", serf["h2"].join, [address["h1"] + ":7946"])
    inside("h3", serf["h3"].join, [address["h1"] + ":7946"])
    until(lambda: set(membership.statuses(members("h2"), planned).values()) == {"alive"}, 10)
    # A tag set on h2 is on h1 within a second.
    tag = membership.encode(1, ["web.2"], {"web.2"})
    inside("h2", serf["h2"].set_tag, membership.HEALTH_TAG, tag)
    until(lambda: {m["name"]: m["tags"].get("health") for m in members("h1")}.get("h2") == tag, 2)
    # The RPC wants the token.
    with pytest.raises(membership.MembershipError):
        inside("h1", membership.Serf("127.0.0.1:7373", "wrong").members)
    # Another key: the join fails, and nobody lists it.
    with pytest.raises(membership.MembershipError):
        inside("x", stranger.join, [address["h1"] + ":7946"])
    time.sleep(1)
    assert "x" not in {m["name"] for m in members("h1")}
    assert {m["name"] for m in inside("x", stranger.members)} == {"x"}
    # h3 loses its link: failed on h1 within 10 s.
    sh("ip", "-n", "h3", "link", "set", "eth0", "down")
    started = time.monotonic()
    failed_at = until(lambda: membership.statuses(members("h1"), planned)["h3"] == "failed", 15)
    assert failed_at - started < 10
    sh("ip", "-n", "h3", "link", "set", "eth0", "up")
    inside("h1", serf["h1"].join, [address["h3"] + ":7946"])
    until(lambda: membership.statuses(members("h1"), planned)["h3"] == "alive", 15)
