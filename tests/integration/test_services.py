"""Services' kernel pieces against the real kernel, in a throwaway host (see run.sh).

The gateway bridge and a sandbox's egress endpoint with its default route, the
routing-mesh table loaded by nft, and the swarmnet supervisor running, restarting
and stopping a real process inside a sandbox.
"""

import os
import pwd
import signal
import sys
import time

import pytest

from ansible_collections.swarmnet.overlay.plugins.module_utils.host import supervisor, task
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import (
    endpoint, gwbridge, links, mesh, netns, nftables)
from ansible_collections.swarmnet.overlay.plugins.module_utils.reconcile import Changes

if os.environ.get("SWARMNET_ISOLATED") != "1":
    pytest.skip("run through tests/integration/run.sh (isolated namespaces)", allow_module_level=True)

BRIDGE = "swarmnet_gwbr"
EGRESS = {"network": "gwbridge", "netns": None, "bridge": BRIDGE, "ifname": "eth0",
          "address": "172.18.0.3/16", "mac": "02:42:ac:12:00:03", "mtu": 1500, "gateway": "172.18.0.1"}


@pytest.fixture(autouse=True)
def clean():
    yield
    for name in netns.names():
        endpoint.ensure_absent(name, Changes(False))
        if netns.exists(name):
            netns.remove(name)
    gwbridge.ensure_absent(BRIDGE, Changes(False))
    if nftables.exists(mesh.FAMILY, mesh.DEFAULT_TABLE):
        nftables.delete(mesh.FAMILY, mesh.DEFAULT_TABLE)


def test_egress_endpoint_gets_its_default_route_and_check_mode_predicts_the_run():
    predicted = Changes(True)
    gwbridge.ensure_present(BRIDGE, "172.18.0.1/16", predicted)
    performed = Changes(False)
    gwbridge.ensure_present(BRIDGE, "172.18.0.1/16", performed)
    assert predicted.done == performed.done and performed.done
    predicted, performed = Changes(True), Changes(False)
    endpoint.ensure_present("t1", [EGRESS], predicted)
    endpoint.ensure_present("t1", [EGRESS], performed)
    assert predicted.done == performed.done
    with netns.rtnl("t1") as ipr:
        assert endpoint._default_routes(ipr) == [("172.18.0.1", ipr.link_lookup(ifname="eth0")[0])]
    again = Changes(False)
    endpoint.ensure_present("t1", [EGRESS], again)
    gwbridge.ensure_present(BRIDGE, "172.18.0.1/16", again)
    assert again.done == []


def test_a_default_route_the_collection_did_not_make_is_refused():
    gwbridge.ensure_present(BRIDGE, "172.18.0.1/16", Changes(False))
    netns.create("podman")
    with netns.rtnl("podman") as ipr:
        ipr.link("add", ifname="own0", kind="veth", peer="own1")     # this kernel has no dummy links
        index = ipr.link_lookup(ifname="own0")[0]
        ipr.link("set", index=index, state="up")
        ipr.addr("add", index=index, address="192.0.2.2", prefixlen=24)
        ipr.route("add", dst="0.0.0.0/0", gateway="192.0.2.1")
    with pytest.raises(endpoint.EndpointError, match="default route via 192.0.2.1"):
        endpoint.ensure_present("podman", [EGRESS], Changes(False))


def test_a_foreign_link_named_like_the_bridge_is_not_taken_over():
    with netns.rtnl() as ipr:
        ipr.link("add", ifname=BRIDGE, kind="veth", peer="other0")
    with pytest.raises(gwbridge.GatewayBridgeError, match="is a veth, not a bridge"):
        gwbridge.ensure_present(BRIDGE, "172.18.0.1/16", Changes(False))
    with netns.rtnl() as ipr:
        links.delete(ipr, ipr.link_lookup(ifname=BRIDGE)[0])


def test_mesh_table_loads_with_round_robin_over_local_tasks():
    body = mesh.render(mesh.DEFAULT_TABLE, BRIDGE, [{"protocol": "tcp", "port": 8080, "address": "172.18.0.2"}],
                       [{"protocol": "udp", "port": 9090, "target_port": 53,
                         "backends": ["172.18.0.3", "172.18.0.4"]}], "172.18.0.0/16")
    nftables.replace(mesh.FAMILY, mesh.DEFAULT_TABLE, body)
    assert not nftables.differs(mesh.FAMILY, mesh.DEFAULT_TABLE, body)
    listing = nftables.text(mesh.FAMILY, mesh.DEFAULT_TABLE)
    assert "numgen inc mod 2 map { 0 : 172.18.0.3 . 53, 1 : 172.18.0.4 . 53 }" in listing
    assert "tcp dport 8080 dnat to 172.18.0.2" in listing


def _net_inode(pid):
    return os.stat("/proc/%d/ns/net" % pid).st_ino


def test_supervisor_runs_restarts_and_stops_a_task_in_its_sandbox(tmp_path):
    netns.create("job")
    runner = task.Supervisor(None, str(tmp_path), sys.executable)
    spec = {"name": "job.1", "service": "job", "netns": "job",
            "command": [sys.executable, "-c", "import time; time.sleep(600)"]}
    first = Changes(False)
    pid = runner.ensure_present(spec, first)
    assert first.done[-1] == "start task job.1 in job (swarmnet supervisor)"
    assert _net_inode(pid) == os.stat("/run/netns/job").st_ino     # it runs inside the sandbox
    assert runner.ensure_present(spec, Changes(False)) == pid       # converged: no change, same process

    os.kill(pid, signal.SIGKILL)
    deadline = time.time() + 10
    status = None
    while time.time() < deadline:
        status = supervisor.read_json(supervisor.status_path(str(tmp_path), "job.1"))
        if status and status["pid"] != pid:
            break
        time.sleep(0.1)
    assert status["pid"] != pid and status["restarts"] == 1
    assert _net_inode(status["pid"]) == os.stat("/run/netns/job").st_ino

    sup = task.supervisor_pid(str(tmp_path))
    gone = Changes(False)
    runner.ensure_absent("job.1", gone)
    assert not os.path.exists("/proc/%d" % status["pid"]) or _zombie(status["pid"])
    deadline = time.time() + 10
    while task.supervisor_pid(str(tmp_path)) is not None and time.time() < deadline:
        time.sleep(0.1)
    assert task.supervisor_pid(str(tmp_path)) is None and not os.path.exists("/proc/%d/cmdline" % sup) or \
        _zombie(sup)
    assert sorted(os.listdir(tmp_path / "tasks")) == []


def _zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split()[2] == "Z"
    except OSError:
        return True


def test_service_task_runs_the_hosts_whole_list_in_one_module_run(run_module, tmp_path):
    for name in ("job", "cron"):
        netns.create(name)
    sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
    tasks = [{"name": "job.1", "service": "job", "sandbox": "job", "command": sleeper},
             {"name": "cron.1", "service": "cron", "sandbox": "cron", "command": sleeper}]
    common = {"supervisor": "swarmnet", "state_dir": str(tmp_path / "state")}

    missing = run_module("service_task", tasks=tasks + [{"name": "lost.1", "command": sleeper}], **common)
    assert missing["failed"] and missing["msg"] == "tasks[2].sandbox=None: give the task's sandbox"
    assert not os.path.exists(tmp_path / "state" / "tasks")           # refused before any task was touched

    made = run_module("service_task", tasks=tasks, **common)
    assert made["changed"] and [r["name"] for r in made["results"]] == ["task job.1", "task cron.1"]
    for result, sandbox in zip(made["results"], ("job", "cron")):
        assert _net_inode(result["pid"]) == os.stat("/run/netns/%s" % sandbox).st_ino
    assert run_module("service_task", tasks=tasks, **common)["changed"] is False

    changed = [tasks[0], dict(tasks[1], command=sleeper + ["again"])]
    predicted = run_module("service_task", check=True, tasks=changed, **common)
    assert predicted["changed"] and predicted["actions"] and \
        all(a.startswith("task cron.1: ") for a in predicted["actions"])
    assert [d["before_header"] for d in predicted["diff"]] == ["task cron.1"]
    assert os.path.exists("/proc/%d" % made["results"][1]["pid"])     # check mode restarted nothing

    gone = run_module("service_task", tasks=[{"name": "job.1"}, {"name": "cron.1"}], state="absent", **common)
    assert gone["changed"] and not run_module("service_task", tasks=tasks, state="absent", **common)["changed"]
    for result in made["results"]:
        assert not os.path.exists("/proc/%d/cmdline" % result["pid"]) or _zombie(result["pid"])


def test_a_task_starts_with_its_env_user_and_working_dir(run_module, tmp_path):
    netns.create("job")
    workdir = tmp_path / "work"
    workdir.mkdir()
    shows = "import os, time; print(os.environ['GREETING'], os.environ['HOME'], os.getuid(), os.getcwd(), " \
            "flush=True); time.sleep(600)"
    job = {"name": "job.1", "service": "job", "sandbox": "job", "command": ["/usr/bin/python3", "-c", shows],
           "env": {"GREETING": "hello"}, "user": "nobody", "working_dir": str(workdir)}
    common = {"supervisor": "swarmnet", "state_dir": str(tmp_path / "state")}

    for key, value, why in (("user", "no-such-user", "no such user on this host"),
                            ("working_dir", "/no/such/dir", "no such directory on this host")):
        refused = run_module("service_task", tasks=[dict(job, **{key: value})], **common)
        assert refused["failed"] and refused["msg"] == "tasks[0].%s=%r: %s" % (key, value, why)
    assert not os.path.exists(tmp_path / "state" / "tasks")           # refused before anything was written

    made = run_module("service_task", tasks=[job], **common)
    log = tmp_path / "state" / "tasks" / "job.1.log"      # the task's output, as the supervisor keeps it
    deadline = time.time() + 10
    while not (log.exists() and log.read_text()) and time.time() < deadline:
        time.sleep(0.1)
    nobody = pwd.getpwnam("nobody")
    assert log.read_text() == "hello %s %d %s\n" % (nobody.pw_dir, nobody.pw_uid, workdir)
    assert _net_inode(made["results"][0]["pid"]) == os.stat("/run/netns/job").st_ino
    assert run_module("service_task", tasks=[job], **common)["changed"] is False
    # Another environment is another spec: the task restarts with it.
    again = run_module("service_task", tasks=[dict(job, env={"GREETING": "again"})], **common)
    assert again["changed"] and again["results"][0]["pid"] != made["results"][0]["pid"]
    run_module("service_task", tasks=[{"name": "job.1"}], state="absent", **common)


def test_services_host_runs_the_hosts_services_in_one_module_run(run_module, tmp_path):
    """Resolver, task, balancing, routing mesh and registry in one module run: bad input refused before
    anything changes, check mode predicting the run, a second run with nothing to do, a kind that fails
    stopping the kinds after it, and everything removed in one run again."""
    netns.create("web.1")
    state = tmp_path / "state"
    registry = [{"name": "web", "endpoint_mode": "vip", "networks": ["front"], "vips": {"front": "10.10.1.8"},
                 "tasks": [{"name": "web.1", "addresses": {"front": "10.10.1.5"}}]}]
    vip = {"fwmark": 256, "vip": "10.10.1.8", "backends": [{"address": "10.10.1.5", "task": "web.1", "host": "h1"}]}
    host = dict(
        dns={"sandboxes": {"web.1": ["front"]}, "services": registry, "upstreams": ["198.18.9.53"]},
        tasks=[{"name": "web.1", "service": "web", "sandbox": "web.1",
                "command": [sys.executable, "-c", "import time; time.sleep(600)"]}],
        balancing=[{"sandboxes": ["web.1"], "services": [vip]}],
        mesh={"ingress": [{"port": 8080, "address": "172.18.0.2"}], "egress_subnet": "172.18.0.0/16"},
        registry={"services": registry},
        supervisor="swarmnet", backend="nftables", state_dir=str(state))
    kinds = ["dns", "tasks", "balancing", "mesh", "registry"]

    def made_here():
        with netns.inside("web.1"):
            balanced = nftables.exists("ip", "swarmnet_lb")
        return {"balancing": balanced, "mesh": nftables.exists(mesh.FAMILY, mesh.DEFAULT_TABLE),
                "registry": os.path.exists(state / "services.json"), "tasks": os.path.exists(state / "tasks"),
                "dns": os.path.exists("/etc/netns/web.1/resolv.conf")}

    refused = run_module("services_host", **dict(host, mesh=dict(host["mesh"], ingress=[{"port": 0, "address": "172.18.0.2"}])))
    assert refused["failed"] and refused["msg"] == "mesh.ingress[0].port=0: not a port (1-65535)"
    predicted = run_module("services_host", check=True, **host)
    assert predicted["changed"] and all(predicted[kind][0]["changed"] for kind in kinds)
    assert not any(made_here().values())          # neither the refused run nor check mode made anything
    try:
        made = run_module("services_host", **host)
        assert made["changed"] and all(made_here().values()), made
        assert predicted["actions"] == made["actions"]
        assert made["pids"] == {"web.1": made["tasks"][0]["pid"]}
        assert _net_inode(made["pids"]["web.1"]) == os.stat("/run/netns/web.1").st_ino
        assert made["dns"][0]["pid"] and made["balancing"][0]["backend"] == "nftables"
        assert made["balancing"][0]["services"] == ["fwmark 0x100 10.10.1.8 rr", "  10.10.1.5 weight 1"]
        again = run_module("services_host", **host)
        assert again["changed"] is False and again["actions"] == [] and again["diff"] == []
        assert "services" not in again["balancing"][0]      # listed where it changed only
        # The host's lists are echoed back only at -vvv, where Ansible shows a result's invocation.
        echoed = again["invocation"]["module_args"]
        assert echoed["state_dir"] == str(state) and echoed["backend"] == "nftables"
        assert not [key for key, value in echoed.items() if isinstance(value, (list, dict))], echoed
        loud = run_module("services_host", _ansible_verbosity=3, **host)["invocation"]["module_args"]
        assert [vip_echoed["vip"] for vip_echoed in loud["balancing"][0]["services"]] == ["10.10.1.8"]

        # Balancing in a sandbox that is not there fails at run time: the mesh and the registry after it are not run.
        broken = run_module("services_host", **dict(host, balancing=[{"sandboxes": ["gone.1"], "services": [vip]}],
                                                    mesh=dict(host["mesh"], egress_subnet=None),
                                                    registry={"services": []}))
        assert broken["failed"] and broken["msg"] == "netns gone.1: no such network namespace"
        assert broken["mesh"] == [] and broken["registry"] == [] and len(broken["tasks"]) == 1
        assert os.path.exists(state / "services.json")
    finally:
        # web.1's backend drained everywhere before web.1 stops, then the sandbox's balancing goes.
        gone = run_module("services_host", drain=[{"sandboxes": ["web.1"], "services": [dict(vip, backends=[])]}],
                          absent_tasks=["web.1"], absent_balancing=["web.1"],
                          dns={"state": "absent"}, mesh={"state": "absent"}, registry={"state": "absent"},
                          supervisor="swarmnet", backend="nftables", state_dir=str(state))
    assert gone["changed"] and [kind for kind in kinds if gone[kind]] == kinds
    assert [(r["name"], r["changed"]) for r in gone["balancing"]] == [("netns web.1", True)] * 2
    stopped = gone["actions"].index("task web.1: stop task web.1")
    assert gone["actions"].index("netns web.1: replace nftables table ip swarmnet_lb") < stopped < \
        gone["actions"].index("netns web.1: delete nftables table ip swarmnet_lb")
    assert not any(value for key, value in made_here().items() if key != "tasks")
    assert [name for name in os.listdir(state / "tasks") if name.endswith(".json")] == []     # no task spec left
    for pid in (made["pids"]["web.1"], made["dns"][0]["pid"]):
        assert not os.path.exists("/proc/%d/cmdline" % pid) or _zombie(pid)


def test_service_task_waits_for_its_tasks_to_be_stable_in_the_same_run(run_module, tmp_path):
    """stable_for: the restart and its watch in one module run (a rollout's step). Without a live agent
    nothing is ever stable: the run fails after wait_timeout, naming why, with the task started and its pid."""
    netns.create("job")
    job = {"name": "job.1", "service": "job", "sandbox": "job",
           "command": [sys.executable, "-c", "import time; time.sleep(600)"]}
    common = {"supervisor": "swarmnet", "state_dir": str(tmp_path / "state")}
    refused = run_module("service_task", tasks=[{"name": "job.1"}], stable_for=1, state="absent", **common)
    assert refused["failed"] and refused["msg"] == "stable_for=1.0: only with state=present"
    try:
        waited = run_module("service_task", tasks=[job], stable_for=0.5, wait_timeout=1, **common)
        assert waited["failed"] and waited["changed"] and waited["waited"] >= 1
        assert waited["msg"] == "not stable after 1s: facts: the live agent of this host has no fresh facts (is it running?)"
        assert waited["pending"] == [{"what": "facts", "why": "the live agent of this host has no fresh facts (is it running?)"}]
        assert _net_inode(waited["pids"]["job.1"]) == os.stat("/run/netns/job").st_ino
        # Check mode does not wait: nothing changes, so nothing is watched.
        predicted = run_module("service_task", check=True, tasks=[job], stable_for=0.5, wait_timeout=30, **common)
        assert not predicted.get("failed") and predicted["changed"] is False and "pending" not in predicted
    finally:
        run_module("service_task", tasks=[{"name": "job.1"}], state="absent", **common)
