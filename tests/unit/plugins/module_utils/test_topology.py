"""The topology of inspect.yml: built from overlay_info results, drawn as a Graphviz graph."""

import shutil
import subprocess

import pytest

from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import topology

WEB = {"name": "web", "endpoint_mode": "vip", "vips": {"frontend": "10.10.1.8"},
       "ports": [{"published": 8080, "target": 80, "protocol": "tcp", "mode": "ingress"}],
       "tasks": [{"name": "web.1", "host": "h1", "sandbox": "web.1", "addresses": {"frontend": "10.10.1.5"}}]}


def report(endpoints, services=(WEB,)):
    return {"networks": [{"name": "frontend", "vni": 4098, "subnet": "10.10.1.0/24", "gateway": "10.10.1.1/24",
                          "data_port": 4789}],
            "endpoints": endpoints, "services": list(services)}


def reports():
    return {"h2": report([{"sandbox": "task-b", "network": "frontend", "ip": "10.10.1.3"}]),
            "h1": report([{"sandbox": "web.1", "network": "frontend", "ip": "10.10.1.5"},
                          {"sandbox": "web.1", "network": "gwbridge", "ip": "172.18.0.3"}])}


def test_model_names_hosts_networks_tasks_and_services():
    model = topology.model(reports(), {"h1": "198.18.0.11"})
    assert [h["name"] for h in model["hosts"]] == ["h1", "h2"]
    assert model["hosts"][0]["address"] == "198.18.0.11"
    web1 = model["hosts"][0]["sandboxes"][0]
    assert (web1["task"], web1["service"]) == ("web.1", "web")
    assert web1["endpoints"] == [{"network": "frontend", "ip": "10.10.1.5"}, {"network": "gwbridge", "ip": "172.18.0.3"}]
    assert model["networks"] == [{"name": "frontend", "vni": 4098, "subnet": "10.10.1.0/24", "gateway": "10.10.1.1/24",
                                  "data_port": 4789, "hosts": ["h1", "h2"]}]
    assert model["services"][0]["vips"] == {"frontend": "10.10.1.8"}


def test_a_registry_most_hosts_agree_on_wins():
    stale = dict(WEB, vips={"frontend": "10.10.1.99"})
    reps = reports()
    reps["h3"] = report([], services=[stale])
    reps["h4"] = report([])
    assert topology.model(reps)["services"][0]["vips"] == {"frontend": "10.10.1.8"}


def test_graph_shows_vni_addresses_vips_ports_and_quotes_names():
    text = topology.dot(topology.model(reports(), {"h1": "198.18.0.11"}))
    for expected in ('VNI 4098', '"10.10.1.5"', 'VIP frontend 10.10.1.8', 'ingress 8080->80/tcp',
                     '"sb:h1/web.1" -> "net:frontend"', '"svc:web" -> "sb:h1/web.1" [style=dashed]', 'h1  198.18.0.11'):
        assert expected in text, expected
    assert "gwbridge" not in text      # host-local, not a network of the cluster


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_graphviz_renders_it():
    out = subprocess.run(["dot", "-Tsvg"], input=topology.dot(topology.model(reports())), capture_output=True,
                         text=True, check=True).stdout
    assert "<svg" in out and "web.1 (web)" in out


def test_hosts_carry_the_status_the_others_see_and_tasks_their_health():
    reps = reports()
    reps["h1"]["live"] = {"hosts": {"h1": "alive", "h2": "failed"}, "local": {"web.1": {"state": "unhealthy"}}}
    reps["h2"]["live"] = {"hosts": {"h1": "alive", "h2": "alive"}, "local": {}}     # cut off, it sees itself alive
    model = topology.model(reps)
    assert [(h["name"], h["status"]) for h in model["hosts"]] == [("h1", "alive"), ("h2", "failed")]
    assert model["hosts"][0]["sandboxes"][0]["health"] == "unhealthy"
    assert model["services"][0]["tasks"][0]["health"] == "unhealthy"
    text = topology.dot(model)
    assert '    label="h2    (failed)"; style=rounded; color=red; penwidth=2;' in text.splitlines()
    assert '    label="h1    (alive)"; style=rounded;' in text.splitlines()
    assert 'fillcolor=salmon, label="web.1 (web)\\nunhealthy"' in text


def test_without_a_live_layer_there_is_no_status_and_no_colour():
    model = topology.model(reports())
    assert {h["status"] for h in model["hosts"]} == {None}
    assert "fillcolor" not in topology.dot(model).replace("fillcolor=lightblue", "").replace(
        "fillcolor=lightyellow", "")
