"""Services in the plan: placement, VIPs, fwmarks, balancing, and refused input."""

import ipaddress

import pytest

from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import lb as lb_plan, plan, rollout, service_plan
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan.plan import PlanError

NETS = [
    {"name": "ingress", "ingress": True, "subnet": "10.255.0.0/16"},
    {"name": "front", "subnet": "10.10.1.0/24"},
    {"name": "back", "subnet": "10.10.2.0/24", "data_port": 4790},
]
HOSTS = {h: {"advertise_addr": "198.18.0.%d" % (11 + i), "sandboxes": []}
         for i, h in enumerate(("h1", "h2", "h3"))}
WEB = {"name": "web", "networks": ["front"], "replicas": 3, "command": ["srv", "80"],
       "ports": [{"published": 8080, "target": 80}]}
DB = {"name": "db", "networks": ["back"], "endpoint_mode": "dnsrr", "replicas": 2,
      "command": "srv 5432", "ports": [{"published": 5432, "mode": "host"}]}


def build(services, reported=None, groups=None):
    return plan.build(NETS, HOSTS, reported, "h1", services=services, groups=groups)["hosts"]


def errors_of(services, groups=None):
    with pytest.raises(PlanError) as exc:
        build(services, groups=groups)
    return exc.value.errors


def test_replicas_spread_over_every_eligible_host_and_join_ingress_first():
    result = build([WEB])
    tasks = sorted((t["name"], h) for h, d in result.items() for t in d["tasks"])
    assert sorted(h for _n, h in tasks) == ["h1", "h2", "h3"]
    sb = next(s for h in result.values() for s in h["sandboxes"] if s["name"] == "web.1")
    assert [(e["ifname"], e["network"]) for e in sb["endpoints"]] == [
        ("eth0", "ingress"), ("eth1", "front"), ("eth2", "gwbridge")]
    assert sb["endpoints"][2]["gateway"] == "172.18.0.1"


def test_numbers_given_as_strings_plan_like_numbers():
    """`-e replicas=2` and templated values arrive as strings; the role's argument spec takes them as int."""
    as_text = dict(WEB, replicas="3", ports=[{"published": "8080", "target": " 80"}])
    assert build([as_text]) == build([WEB])
    assert errors_of([dict(WEB, replicas="three")]) == [
        "host h1: swarmnet_services[0].replicas='three': must be an integer from 0 to %d" % service_plan.MAX_REPLICAS]


def test_scaling_down_keeps_the_surviving_tasks_where_they_were():
    where = {t["name"]: h for h, d in build([WEB]).items() for t in d["tasks"]}
    one = {t["name"]: h for h, d in build([dict(WEB, replicas=1)]).items() for t in d["tasks"]}
    assert one == {"web.1": where["web.1"]}


def test_vip_balances_over_every_task_from_every_sandbox_on_the_network():
    result = build([WEB])
    registry = result["h1"]["services"][0]
    vip = registry["vips"]["front"]
    task_ips = sorted(t["addresses"]["front"] for t in registry["tasks"])
    assert vip not in task_ips and ipaddress.IPv4Address(vip) in ipaddress.IPv4Network("10.10.1.0/24")
    backends = sorted(({"address": t["addresses"]["front"], "task": t["name"], "host": t["host"]}
                       for t in registry["tasks"]), key=lambda b: b["address"])
    for host in result.values():
        for lb in lb_plan.per_sandbox(host["lb"]):
            if lb["sandbox"].startswith("web."):
                assert lb["services"] == [{"fwmark": 0x100, "vip": vip, "backends": backends}]


def test_sandboxes_that_balance_the_same_services_share_one_entry():
    # Six web tasks on three hosts: each host's two web sandboxes share one entry, the ingress sandbox
    # (published port, masquerade) has its own; written out per sandbox, nothing is lost.
    result = build([dict(WEB, replicas=6)])
    for host in result.values():
        assert [len(group["sandboxes"]) for group in host["lb"]] == [1, 2]
        per_sandbox = lb_plan.per_sandbox(host["lb"])
        assert sorted(e["sandbox"] for e in per_sandbox) == sorted(sb["name"] for sb in host["sandboxes"])
        assert lb_plan.shared(per_sandbox) == host["lb"]


def test_ingress_sandbox_on_every_host_balances_the_published_port():
    result = build([WEB])
    for host in result.values():
        lb = next(x for x in lb_plan.per_sandbox(host["lb"]) if x["sandbox"] == "swarmnet_ingress_sbox")
        (svc,) = lb["services"]
        assert (svc["vip"], svc["port"], svc["target_port"], svc["masquerade"]) == ("172.18.0.2", 8080, 80, True)
        assert len(svc["backends"]) == 3
        assert host["mesh"]["ingress"] == [{"protocol": "tcp", "port": 8080, "address": "172.18.0.2"}]
        assert host["mesh"]["egress_subnet"] == "172.18.0.0/16"


def test_dnsrr_has_no_vip_and_host_ports_go_to_local_tasks_only():
    result = build([DB])
    (entry,) = result["h1"]["services"]
    assert entry["vips"] == {} and entry["fwmarks"] == {}
    hosts_with_task = {h for h, d in result.items() if d["tasks"]}
    for name, host in result.items():
        if name in hosts_with_task:
            (port,) = host["mesh"]["host"]
            assert port["port"] == 5432 and len(port["backends"]) == 1
        else:
            assert host["mesh"]["host"] == [] and host["gwbridge"] is None
        assert all(lb["services"] == [] for lb in host["lb"])


def test_vips_and_fwmarks_are_kept_while_the_service_lives():
    first = build([WEB])["h1"]["services"][0]
    reported = {"h2": {"services": [dict(first, vips={"front": "10.10.1.200"}, fwmarks={"vip/front": 0x123})]}}
    other = {"name": "api", "networks": ["front"], "replicas": 1, "command": ["x"]}
    again = {s["name"]: s for s in build([other, WEB], reported)["h1"]["services"]}
    assert again["web"]["vips"] == {"front": "10.10.1.200"}
    assert again["web"]["fwmarks"]["vip/front"] == 0x123
    assert again["api"]["vips"]["front"] != "10.10.1.200"


def test_explicit_tasks_name_existing_namespaces_and_run_nothing():
    svc = {"name": "pg", "networks": ["back"], "tasks": [{"host": "h2", "netns": "podman-pg"}]}
    result = build([svc])
    assert result["h2"]["tasks"] == []
    assert [s["name"] for s in result["h2"]["sandboxes"]] == ["podman-pg"]
    assert result["h1"]["services"][0]["tasks"][0]["host"] == "h2"


def test_removed_tasks_are_listed_for_the_host_that_runs_them():
    running = {h: [t["name"] for t in d["tasks"]] for h, d in build([WEB]).items()}
    reported = {h: {"tasks": names + ["old.1"]} for h, names in running.items()}
    result = plan.build(NETS, HOSTS, reported, "h1", services=[dict(WEB, replicas=1)])["hosts"]
    assert {h: d["absent_tasks"] for h, d in result.items()} == {
        h: sorted(set(names + ["old.1"]) - {"web.1"}) for h, names in running.items()}


def test_placement_by_group():
    result = build([dict(WEB, replicas=2, placement=["edge"])], groups={"edge": ["h2", "h9"]})
    assert sorted(t["name"] for t in result["h2"]["tasks"]) == ["web.1", "web.2"]


@pytest.mark.parametrize("services, expected", [
    ([WEB, dict(WEB)], "host h1: swarmnet_services[1].name='web': service declared twice"),
    ([dict(WEB, networks=[{"network": "front", "vip": "10.10.9.9"}])],
     "host h1: swarmnet_services[0].networks[0].vip='10.10.9.9': not a host address of network 'front'"),
    ([WEB, dict(WEB, name="api")],
     "host h1: swarmnet_services[1].ports[0].published=8080: tcp port 8080 is already published by service 'web'"),
    ([dict(WEB, placement=["nowhere"])],
     "host h1: swarmnet_services[0].placement[0]='nowhere': neither a cluster host nor a group"),
    ([dict(WEB, placement=["empty"])], "host h1: swarmnet_services[0].placement=['empty']: no eligible host"),
    ([dict(WEB, networks=["nope"])], "host h1: swarmnet_services[0].networks[0].network='nope': unknown network"),
    ([dict(DB, ports=[{"published": 53, "mode": "ingress"}])],
     "host h1: swarmnet_services[0].ports[0].mode='ingress': a dnsrr service cannot publish in ingress mode"),
    ([dict(WEB, name="Web_1")], "host h1: swarmnet_services[0].name='Web_1': must be a DNS label"),
    ([dict(WEB, ports=[{"published": 4790, "protocol": "udp"}])],
     "host h1: swarmnet_services[0].ports[0].published=4790: udp port 4790 is used by the cluster itself"),
    ([dict(WEB, ports=[{"published": 70000}])], "host h1: swarmnet_services[0].ports[0].published=70000"),
    ([dict(WEB, command=None)], "host h1: swarmnet_services[0].command=None: replicas need a command"),
    ([dict(WEB, tasks=[{"host": "h1", "netns": "x"}])], "host h1: swarmnet_services[0]='web': give either"),
    ([{"name": "pg", "networks": ["back"], "tasks": [{"host": "h7", "netns": "x"}]}],
     "host h1: swarmnet_services[0].tasks[0].host='h7': not a host of the cluster"),
    ([dict(WEB, endpoint_mode="round")], "host h1: swarmnet_services[0].endpoint_mode='round'"),
    ([dict(DB, egress=False)], "host h1: swarmnet_services[0].egress=False: host-mode ports"),
])
def test_bad_services_are_refused_with_host_key_value(services, expected):
    errors = errors_of(services, groups={"empty": []})
    assert any(e.startswith(expected) for e in errors), errors


def test_task_sandbox_names_do_not_collide_with_declared_ones():
    hosts = {h: dict(v) for h, v in HOSTS.items()}
    hosts["h1"] = dict(hosts["h1"], sandboxes=[{"name": "pg", "networks": ["back"]}])
    svc = {"name": "pg", "networks": ["back"], "tasks": [{"host": "h1", "netns": "pg"}]}
    with pytest.raises(PlanError) as exc:
        plan.build(NETS, hosts, None, "h1", services=[svc])
    assert exc.value.errors == ["host h1: swarmnet_services[0].tasks='pg': "
                                "a sandbox of this name is also declared in swarmnet_sandboxes"]


def test_gwbridge_subnet_must_not_overlap_an_overlay():
    with pytest.raises(PlanError) as exc:
        plan.build(NETS, HOSTS, None, "h1", services=[WEB], gwbridge_subnet="10.10.0.0/16")
    assert exc.value.errors[0].startswith(
        "host h1: swarmnet_gwbridge_subnet='10.10.0.0/16': overlaps subnet 10.10.1.0/24 of network 'front'")


def test_spread_is_deterministic_and_balanced():
    spread = service_plan._spread("web", ["a", "b", "c"], 6)
    assert spread == service_plan._spread("web", ["a", "b", "c"], 6)
    assert sorted(h for _s, h in spread) == ["a", "a", "b", "b", "c", "c"]


def _reported(desired):
    """What each host reports after converging to `desired` (its endpoints, tasks and registry)."""
    return {h: {"endpoints": [{"sandbox": s["name"], "network": e["network"], "ip": e["address"].split("/")[0]}
                              for s in d["sandboxes"] for e in s["endpoints"]],
                "tasks": [t["name"] for t in d["tasks"]], "services": d["services"]}
            for h, d in desired.items()}


def test_scale_down_drains_leaving_backends_before_tasks_stop():
    first = build([WEB])
    reported = _reported(first)
    down = plan.build(NETS, HOSTS, reported, "h1", services=[dict(WEB, replicas=1)])["hosts"]
    web1 = next(t for t in down["h1"]["services"][0]["tasks"])
    assert all(host["lb_drain"] for host in down.values())
    for host in down.values():
        for entry in host["lb_drain"]:
            for svc in entry["services"]:
                assert len(svc["backends"]) == 1, entry
    assert web1["name"] == "web.1"
    assert all(e in lb_plan.per_sandbox(h["lb"]) for h in down.values() for e in lb_plan.per_sandbox(h["lb_fill"]))


def test_nothing_leaving_is_one_balancing_pass_after_tasks_start():
    first = build([WEB])
    reported = _reported(first)
    for replicas in (3, 5):    # converged, and scaled up: no task stops, so none is drained first
        hosts = plan.build(NETS, HOSTS, reported, "h1", services=[dict(WEB, replicas=replicas)])["hosts"]
        assert all(h["lb_drain"] == [] and h["lb_fill"] == h["lb"] for h in hosts.values())
        assert {len(s["backends"]) for h in hosts.values() for e in h["lb_fill"] for s in e["services"]} == {replicas}
    # A task that leaves another host's registry (that host not converged now) is still drained.
    web = first["h3"]["services"][0]
    stale = dict(web, tasks=web["tasks"] + [dict(web["tasks"][0], name="web.9", addresses={"front": "10.10.1.99"})])
    gone = dict(reported, h3=dict(reported["h3"], services=[stale]))
    hosts = plan.build(NETS, HOSTS, gone, "h1", services=[WEB])["hosts"]
    assert all(h["lb_drain"] for h in hosts.values() if h["lb"])


def test_every_sandbox_but_the_ingress_one_resolves_on_its_networks():
    result = build([WEB, DB])
    for host in result.values():
        assert "swarmnet_ingress_sbox" not in host["dns"]["sandboxes"]
        for name, networks in host["dns"]["sandboxes"].items():
            assert networks == (["front"] if name.startswith("web.") else ["back"])


def test_bad_dns_settings_are_refused_before_any_change():
    with pytest.raises(PlanError) as exc:
        plan.build(NETS, HOSTS, None, "h1", services=[WEB],
                   dns={"domain": "Bad_Domain", "ttl": -1, "upstreams": ["nope"], "timeout": 0})
    assert exc.value.errors == [
        "host h1: swarmnet_dns.domain='Bad_Domain': must be DNS labels joined by dots (e.g. swarm.internal)",
        "host h1: swarmnet_dns.ttl=-1: TTL must be 0-86400 seconds",
        "host h1: swarmnet_dns.timeout=0: must be more than 0 and at most 30 seconds",
        "host h1: swarmnet_dns.upstreams[0]='nope': not an IPv4 address"]


HEALTHY_WEB = dict(WEB, healthcheck={"http": {"port": 80}, "interval": "1s", "timeout": "1s", "retries": 2})


@pytest.mark.parametrize("check, key, value, why", [
    ({"http": {"port": 80}, "retry": 3}, "healthcheck.retry", 3, "unknown key"),
    ({"tcp": 80, "interval": 0.5}, "healthcheck.interval", 0.5, "at least 1s"),
    ({"tcp": 80, "interval": "2s", "timeout": "5s"}, "healthcheck.timeout", "5s", "not be longer than the interval"),
    ({"tcp": 80, "retries": 0}, "healthcheck.retries", 0, "1 or more"),
    ({"tcp": 0}, "healthcheck.tcp", 0, "not a port"),
    ({"http": {"port": 65536}}, "healthcheck.http.port", 65536, "not a port"),
])
def test_bad_healthchecks_are_refused_naming_host_key_and_value(check, key, value, why):
    (error,) = errors_of([dict(WEB, healthcheck=check)])
    assert error.startswith("host h1: swarmnet_services[0].%s=%r: " % (key, value)) and why in error


def test_explicit_tasks_take_a_tcp_or_http_probe_but_no_command():
    pg = {"name": "pg", "networks": ["back"], "tasks": [{"host": "h2", "netns": "pg"}]}
    assert build([dict(pg, healthcheck={"tcp": 5432})])
    (error,) = errors_of([dict(pg, healthcheck={"test": "pg_isready"})])
    assert error.startswith("host h1: swarmnet_services[0].healthcheck.test='pg_isready': ")
    assert "use a tcp or http probe" in error


def test_each_host_s_live_agent_watches_its_own_tasks_and_joins_every_other_host():
    result = build([HEALTHY_WEB, DB, {"name": "pg", "networks": ["back"], "tasks": [{"host": "h2", "netns": "pg"}],
                                      "healthcheck": {"tcp": 5432}}])
    registry = {t["name"]: t for s in result["h1"]["services"] for t in s["tasks"]}
    for host, desired in result.items():
        assert desired["live"]["peers"] == [{"name": h, "address": HOSTS[h]["advertise_addr"]}
                                            for h in sorted(HOSTS) if h != host]
        for task in desired["live"]["tasks"]:
            assert registry[task["name"]]["host"] == host
            first = "front" if task["service"] == "web" else "back"
            assert task["address"] == registry[task["name"]]["addresses"][first]
        assert sorted(t["name"] for t in desired["live"]["tasks"]) == sorted(
            n for n, t in registry.items() if t["host"] == host)
    web1 = next(t for d in result.values() for t in d["live"]["tasks"] if t["name"] == "web.1")
    assert web1["healthcheck"]["kind"] == "http" and web1["supervised"] is True
    (pg,) = [t for t in result["h2"]["live"]["tasks"] if t["name"] == "pg"]
    assert pg["supervised"] is False and pg["healthcheck"]["port"] == 5432
    assert all(t["healthcheck"] is None for d in result.values() for t in d["live"]["tasks"] if t["service"] == "db")


def test_every_backend_names_its_task_and_host():
    result = build([WEB])
    registry = {t["name"]: t for t in result["h1"]["services"][0]["tasks"]}
    ingress = next(x for x in lb_plan.per_sandbox(result["h1"]["lb"])
                   if x["sandbox"] == "swarmnet_ingress_sbox")["services"][0]
    assert {(b["task"], b["host"], b["address"]) for b in ingress["backends"]} == {
        (n, t["host"], t["addresses"]["ingress"]) for n, t in registry.items()}


def test_env_user_and_working_dir_reach_every_task_and_only_when_given():
    hosts = build([dict(WEB, env={"MODE": "blue", "PORT": "80"}, user="www-data", working_dir="/srv"), DB])
    tasks = [t for h in hosts.values() for t in h["tasks"]]
    web = [t for t in tasks if t["service"] == "web"]
    assert len(web) == 3 and all(t["env"] == {"MODE": "blue", "PORT": "80"} and t["user"] == "www-data"
                                 and t["working_dir"] == "/srv" for t in web)
    # A service that gives none keeps the spec it had: its tasks are not restarted by an upgrade.
    assert all(set(t) == {"name", "service", "sandbox", "command"} for t in tasks if t["service"] == "db")


@pytest.mark.parametrize("extra, key, value, why", [
    ({"env": {"PORT": 80}}, "env.PORT", 80, "must be a string (quote numbers and booleans)"),
    ({"env": {"1X": "a"}}, "env", "1X", "not a variable name"),
    ({"user": "no body"}, "user", "no body", "must be a user name or a numeric id"),
    ({"working_dir": "srv"}, "working_dir", "srv", "must be an absolute path"),
])
def test_bad_process_settings_are_refused_naming_key_and_value(extra, key, value, why):
    with pytest.raises(PlanError) as exc:
        build([dict(WEB, **extra)])
    assert exc.value.errors[0].startswith("host h1: swarmnet_services[0].%s=%r: %s" % (key, value, why))


def test_process_settings_need_a_command():
    explicit = {"name": "pg", "networks": ["back"], "tasks": [{"host": "h1", "netns": "pg"}], "user": "postgres"}
    with pytest.raises(PlanError) as exc:
        build([explicit])
    assert exc.value.errors == ["host h1: swarmnet_services[0].user='postgres': "
                                "needs command (the collection runs that process)"]


def test_a_global_service_has_one_task_on_every_eligible_host():
    agent = {"name": "agent", "networks": ["back"], "mode": "global", "command": ["agent"]}
    hosts = build([agent])
    assert {h: [t["name"] for t in d["tasks"]] for h, d in hosts.items()} == \
        {"h1": ["agent.h1"], "h2": ["agent.h2"], "h3": ["agent.h3"]}
    placed = build([dict(agent, placement=["h1", "h3"])])
    assert [t["name"] for d in placed.values() for t in d["tasks"]] == ["agent.h1", "agent.h3"]
    # A host that leaves the cluster loses its task; the others keep theirs, by name.
    two = plan.build(NETS, {h: HOSTS[h] for h in ("h1", "h2")}, None, "h1", services=[agent])["hosts"]
    assert {h: [t["name"] for t in d["tasks"]] for h, d in two.items()} == {"h1": ["agent.h1"], "h2": ["agent.h2"]}


@pytest.mark.parametrize("extra, key, value, why", [
    ({"replicas": 2}, "replicas", 2, "mode global runs one task on every eligible host: give no replicas"),
    ({"command": None}, "command", None, "mode global needs a command"),
])
def test_global_mode_is_refused_with_replicas_or_without_a_command(extra, key, value, why):
    with pytest.raises(PlanError) as exc:
        build([dict({"name": "agent", "networks": ["back"], "mode": "global", "command": ["agent"]}, **extra)])
    assert exc.value.errors[0].startswith("host h1: swarmnet_services[0].%s=%r: %s" % (key, value, why))


def test_a_global_start_first_task_needs_room_for_its_second_name():
    host = "node-" + "x" * 26                                  # 31 characters
    agent = {"name": "a" * 31, "networks": ["back"], "mode": "global", "command": ["agent"]}
    hosts = {host: HOSTS["h1"]}
    name = plan.build(NETS, hosts, None, host, services=[agent])["hosts"][host]["tasks"][0]["name"]
    assert len(name) == 63                                     # fits the namespace pattern
    with pytest.raises(PlanError) as exc:
        plan.build(NETS, hosts, None, host, services=[dict(agent, update_config={"order": "start-first"})])
    assert exc.value.errors == ["host %s: swarmnet_services[0].mode='global': task name %r (or %r, its second name "
                                "for order start-first) is not a namespace name: %s"
                                % (host, name, name + ".b", service_plan.GLOBAL_TASK_RE.pattern)]


@pytest.mark.parametrize("config, key, value, why", [
    ({"parallelism": -1}, "parallelism", -1, "must be an integer, 0 or more"),
    ({"delay": "-5s"}, "delay", "-5s", "must be a duration, 0 or more"),
    ({"monitor": -1}, "monitor", -1, "must be a duration, 0 or more"),
    ({"order": "first"}, "order", "first", "must be one of stop-first, start-first"),
    ({"failure_action": "retry"}, "failure_action", "retry", "must be one of pause, rollback, continue"),
])
def test_bad_update_config_is_refused_naming_key_and_value(config, key, value, why):
    with pytest.raises(PlanError) as exc:
        build([dict(WEB, update_config=config)])
    assert exc.value.errors[0].startswith("host h1: swarmnet_services[0].update_config.%s=%r: %s" % (key, value, why))


def test_update_config_takes_swarm_s_defaults():
    assert rollout.normalise(None, None) == {"parallelism": 1, "delay": 0.0, "order": "stop-first",
                                             "failure_action": "pause", "monitor": 5.0}
    assert rollout.normalise({"parallelism": "3", "delay": "1m30s", "order": "stop-first"}, None)["delay"] == 90.0


SOLO = dict(WEB, replicas=1, update_config={"order": "start-first", "monitor": "2s", "failure_action": "rollback"})


def _converged(before):
    """What hosts report after converging to `before`, with the specs they applied and the checks their
    agents probe the tasks with."""
    reported = _reported(before)
    for host, desired in before.items():
        reported[host]["task_specs"] = desired["tasks"]
        reported[host]["task_checks"] = {t["name"]: t["healthcheck"] for t in desired["live"]["tasks"]}
    return reported


def _plan(services, reported, mode="begin"):
    return plan.build(NETS, HOSTS, reported, "h1", services=services, start_first=mode)


def test_start_first_starts_the_new_task_under_the_slot_s_other_name_beside_the_old_one():
    before = build([SOLO])
    host = next(h for h, d in before.items() if d["tasks"])
    planned = _plan([dict(SOLO, command=["srv", "81"])], _converged(before))
    mine = planned["hosts"][host]
    assert [(t["name"], t["sandbox"], t["command"]) for t in mine["tasks"]] == [
        ("web.1", "web.1", ["srv", "80"]), ("web.1.b", "web.1.b", ["srv", "81"])]
    assert {s["name"] for s in mine["sandboxes"]} >= {"web.1", "web.1.b"}
    assert [t["name"] for t in mine["services"][0]["tasks"]] == ["web.1", "web.1.b"]     # both balanced meanwhile
    assert mine["absent_tasks"] == [] and mine["absent_sandboxes"] == []
    assert planned["rollout"] == []         # nothing restarts in place
    assert planned["handover"] == [{"service": "web", "failure_action": "rollback", "monitor": 2.0,
                                    "settle": 2.0 + rollout.GRACE,
                                    "tasks": [{"host": host, "name": "web.1.b"}],
                                    "previous": [{"host": host, "name": "web.1"}],
                                    "new": {host: ["web.1.b"]}, "old": {host: ["web.1"]}}]


def test_after_a_handover_the_slot_keeps_the_task_that_runs():
    before = build([SOLO])
    host = next(h for h, d in before.items() if d["tasks"])
    new = dict(SOLO, command=["srv", "81"])
    surge = _plan([new], _converged(before))["hosts"]
    # The old task stopped: the new one stays under its name, run after run.
    surge[host]["tasks"] = [t for t in surge[host]["tasks"] if t["name"] == "web.1.b"]
    for mode in ("settle", "begin"):
        settled = _plan([new], _converged(surge), mode)
        assert [t["name"] for t in settled["hosts"][host]["tasks"]] == ["web.1.b"]
        assert settled["hosts"][host]["absent_tasks"] == [] and settled["handover"] == []
        assert "web.1" in settled["hosts"][host]["absent_sandboxes"]
    # Its next update goes back to the first name.
    again = _plan([dict(SOLO, command=["srv", "82"])], _converged(_plan([new], _converged(surge), "settle")["hosts"]))
    assert [t["name"] for t in again["hosts"][host]["tasks"]] == ["web.1", "web.1.b"]
    assert again["handover"][0]["tasks"] == [{"host": host, "name": "web.1"}]
    assert again["handover"][0]["previous"] == [{"host": host, "name": "web.1.b"}]


def test_a_failed_handover_settles_on_the_old_task_and_its_old_spec():
    before = build([SOLO])
    host = next(h for h, d in before.items() if d["tasks"])
    settled = _plan([dict(SOLO, command=["srv", "81"])], _converged(before), "settle")
    assert settled["hosts"][host]["tasks"] == before[host]["tasks"]
    assert settled["handover"] == [] and settled["rollout"] == []


def test_without_the_live_layer_a_start_first_task_restarts_in_place():
    before = build([SOLO])
    host = next(h for h, d in before.items() if d["tasks"])
    planned = _plan([dict(SOLO, command=["srv", "81"])], _converged(before), "in_place")
    assert [(t["name"], t["command"]) for t in planned["hosts"][host]["tasks"]] == [("web.1", ["srv", "81"])]
    assert planned["handover"] == []


def test_stop_first_services_and_unchanged_specs_hand_nothing_over():
    before = build([SOLO, DB])
    planned = _plan([SOLO, dict(DB, command=["srv", "5433"])], _converged(before))
    assert planned["handover"] == [] and [b["service"] for b in planned["rollout"]] == ["db", "db"]


def _rollout(services, before, hosts=None):
    return plan.build(NETS, hosts or HOSTS, _converged(before), "h1", services=services)["rollout"]


def test_nothing_rolls_when_no_running_task_changes():
    assert _rollout([WEB], build([WEB])) == []
    # A scale-up starts its new task; the running ones keep their spec.
    assert _rollout([dict(WEB, replicas=4)], build([WEB])) == []


def test_a_changed_command_rolls_one_task_at_a_time_by_default_with_the_old_spec_to_go_back_to():
    before = build([WEB])
    where = {t["name"]: h for h, d in before.items() for t in d["tasks"]}
    batches = _rollout([dict(WEB, command=["srv", "81"])], before)
    assert [(b["service"], b["batch"], b["batches"], b["tasks"]) for b in batches] == [
        ("web", n, 3, [{"host": where["web.%d" % n], "name": "web.%d" % n}]) for n in (1, 2, 3)]
    first = batches[0]
    assert first["names"] == {where["web.1"]: ["web.1"]}
    assert first["previous"][where["web.1"]][0]["command"] == ["srv", "80"]
    assert (first["order"], first["failure_action"], first["monitor"], first["delay"]) == ("stop-first", "pause", 5.0, 0.0)
    assert first["settle"] == 5.0 + rollout.GRACE


@pytest.mark.parametrize("parallelism, sizes", [(2, [2, 1]), (0, [3]), (3, [3])])
def test_parallelism_sizes_the_batches(parallelism, sizes):
    batches = _rollout([dict(WEB, command=["srv", "81"], update_config={"parallelism": parallelism})], build([WEB]))
    assert [len(b["tasks"]) for b in batches] == sizes


def test_env_user_or_working_dir_roll_too_and_a_healthcheck_lengthens_the_wait():
    check = {"http": {"port": 80}, "interval": "2s", "retries": 2, "start_period": "3s"}
    changed = dict(WEB, env={"MODE": "new"}, healthcheck=check)
    batches = _rollout([changed], build([dict(WEB, healthcheck=check)]))
    assert len(batches) == 3
    assert batches[0]["settle"] == 5.0 + 3.0 + 2.0 * 3 + rollout.GRACE


def test_only_tasks_of_hosts_in_this_run_roll():
    before = build([WEB])
    reported = _reported(before)
    reported["h1"]["task_specs"] = before["h1"]["tasks"]     # h2 and h3 were read from outside the play
    batches = plan.build(NETS, HOSTS, reported, "h1", services=[dict(WEB, command=["x"])])["rollout"]
    assert [b["tasks"] for b in batches] == [[{"host": "h1", "name": t["name"]}] for t in before["h1"]["tasks"]]


HTTP_CHECK = {"http": {"port": 80}, "interval": "1s", "retries": 2}
TCP_CHECK = {"tcp": 81, "interval": "1s", "retries": 2}


def _probed(planned):
    """{task: the kind and port of the check its agent is told to probe it with}."""
    return {t["name"]: (t["healthcheck"]["kind"], t["healthcheck"]["port"])
            for d in planned["hosts"].values() for t in d["live"]["tasks"]}


def test_a_task_that_rolls_keeps_the_check_of_the_spec_it_runs_and_each_step_carries_both():
    before = build([dict(WEB, healthcheck=HTTP_CHECK)])
    where = {t["name"]: h for h, d in before.items() for t in d["tasks"]}
    planned = plan.build(NETS, HOSTS, _converged(before), "h1",
                         services=[dict(WEB, command=["srv", "81"], healthcheck=TCP_CHECK)])
    assert _probed(planned) == {"web.%d" % n: ("http", 80) for n in (1, 2, 3)}    # until each one's step
    first = planned["rollout"][0]
    assert first["checks"][where["web.1"]]["web.1"]["kind"] == "tcp"
    assert first["previous_checks"][where["web.1"]]["web.1"]["kind"] == "http"
    assert set(first["checks"]) == set(first["previous_checks"]) == {where["web.1"]}


def test_a_changed_check_alone_rolls_nothing_and_is_probed_at_once():
    planned = plan.build(NETS, HOSTS, _converged(build([dict(WEB, healthcheck=HTTP_CHECK)])), "h1",
                         services=[dict(WEB, healthcheck=TCP_CHECK)])
    assert planned["rollout"] == []
    assert _probed(planned) == {"web.%d" % n: ("tcp", 81) for n in (1, 2, 3)}


def test_without_a_check_reported_a_rolling_task_is_probed_with_the_planned_one():
    reported = _converged(build([dict(WEB, healthcheck=HTTP_CHECK)]))
    for host in reported.values():
        host.pop("task_checks")         # no live layer yet
    planned = plan.build(NETS, HOSTS, reported, "h1", services=[dict(WEB, command=["srv", "81"], healthcheck=TCP_CHECK)])
    assert _probed(planned) == {"web.%d" % n: ("tcp", 81) for n in (1, 2, 3)}
    assert all(c["kind"] == "tcp" for b in planned["rollout"] for checks in b["previous_checks"].values()
               for c in checks.values())


def test_start_first_the_old_task_keeps_its_check_and_the_new_one_takes_the_new():
    old_solo = dict(SOLO, healthcheck=HTTP_CHECK)
    new_solo = dict(SOLO, command=["srv", "81"], healthcheck=TCP_CHECK)
    reported = _converged(build([old_solo]))
    assert _probed(_plan([new_solo], reported)) == {"web.1": ("http", 80), "web.1.b": ("tcp", 81)}
    # The new task never became stable and was stopped: the old one serves on, with its own check.
    assert _probed(_plan([new_solo], reported, "settle")) == {"web.1": ("http", 80)}
