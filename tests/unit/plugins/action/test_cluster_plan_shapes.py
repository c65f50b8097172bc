"""Every key of the collection's variables is checked, at every depth, against the plan role's argument spec."""

import os

import pytest
import yaml
from jinja2.nativetypes import NativeEnvironment

from ansible_collections.swarmnet.overlay.plugins.action.cluster_plan import shape_errors, variable_specs
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import inputs

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
GOOD_SERVICE = {"name": "web", "networks": ["front", {"network": "back", "vip": "10.0.2.9"}], "replicas": 2,
                "command": ["httpd"], "ports": [{"published": 8080, "target": 80}],
                "healthcheck": {"http": {"port": 80, "path": "/"}, "interval": "1s", "retries": 2}}
GOOD_SANDBOX = {"name": "task-a", "networks": ["front", {"network": "back", "ip": "10.0.2.5"}], "egress": True}


def errors(networks=None, ingress=None, services=None, dns=None, sandboxes=None):
    args = {"networks": networks or [{"name": "front"}], "ingress": ingress, "services": services or [], "dns": dns}
    hosts = {"h1": {"sandboxes": []}, "h2": {"sandboxes": sandboxes or []}}
    return shape_errors(args, hosts, "h1")


def test_well_formed_variables_pass():
    assert errors(networks=[{"name": "front", "subnet": "10.0.1.0/24", "data_port": 4790, "encrypted": True},
                            {"name": "back", "state": "absent"}],
                  ingress={"name": "ingress", "subnet": "10.255.0.0/16", "vni": 4096},
                  services=[GOOD_SERVICE], dns={"domain": "swarm", "ttl": 5, "timeout": 1.5, "upstreams": ["9.9.9.9"]},
                  sandboxes=[GOOD_SANDBOX]) == []


def test_the_empty_ingress_declares_none():
    assert errors(ingress={}) == []


@pytest.mark.parametrize("kwargs, expected", [
    ({"networks": [{"name": "apps", "subnet": "10.20.0.0/24", "data_prot": 4790}]},
     "host h1: swarmnet_networks[0].data_prot=4790: unknown key; did you mean 'data_port'?"),
    ({"ingress": {"name": "ingress", "subnett": "10.255.0.0/16"}},
     "host h1: swarmnet_ingress.subnett='10.255.0.0/16': unknown key; did you mean 'subnet'?"),
    ({"ingress": {"name": "ingress", "state": "absent"}},
     "host h1: swarmnet_ingress.state='absent': unknown key (known: data_port, encrypted, gateway, mtu, name, "),
    ({"sandboxes": [{"name": "a", "network": ["front"]}]},
     "host h2: swarmnet_sandboxes[0].network=['front']: unknown key; did you mean 'networks'?"),
    ({"sandboxes": [{"name": "a", "networks": [{"network": "front", "addr": "10.0.1.9"}]}]},
     "host h2: swarmnet_sandboxes[0].networks[0].addr='10.0.1.9': unknown key"),
    ({"services": [dict(GOOD_SERVICE, comand=["x"])]},
     "host h1: swarmnet_services[0].comand=['x']: unknown key; did you mean 'command'?"),
    ({"services": [dict(GOOD_SERVICE, networks=[{"network": "front", "ip": "10.0.1.9"}])]},
     "host h1: swarmnet_services[0].networks[0].ip='10.0.1.9': unknown key; did you mean 'vip'?"),
    ({"services": [dict(GOOD_SERVICE, ports=[{"published": 80, "protocl": "udp"}])]},
     "host h1: swarmnet_services[0].ports[0].protocl='udp': unknown key; did you mean 'protocol'?"),
    ({"services": [dict(GOOD_SERVICE, healthcheck={"tcp": 80, "retry": 2})]},
     "host h1: swarmnet_services[0].healthcheck.retry=2: unknown key; did you mean 'retries'?"),
    ({"services": [dict(GOOD_SERVICE, healthcheck={"http": {"port": 80, "pth": "/"}})]},
     "host h1: swarmnet_services[0].healthcheck.http.pth='/': unknown key; did you mean 'path'?"),
    ({"services": [{"name": "db", "networks": ["front"], "tasks": [{"host": "h1", "netns": "db", "nam": "x"}]}]},
     "host h1: swarmnet_services[0].tasks[0].nam='x': unknown key; did you mean 'name'?"),
    ({"services": [dict(GOOD_SERVICE, update_config={"paralelism": 2})]},
     "host h1: swarmnet_services[0].update_config.paralelism=2: unknown key; did you mean 'parallelism'?"),
    ({"services": [dict(GOOD_SERVICE, env=["A=1"])]},
     "host h1: swarmnet_services[0].env=['A=1']: must be a mapping"),
    ({"services": [dict(GOOD_SERVICE, mode="daemon")]},
     "host h1: swarmnet_services[0].mode='daemon': must be one of replicated, global"),
    ({"dns": {"ttl": 5, "upstream": ["9.9.9.9"]}},
     "host h1: swarmnet_dns.upstream=['9.9.9.9']: unknown key; did you mean 'upstreams'?"),
])
def test_an_unknown_key_is_refused_with_the_key_that_was_meant(kwargs, expected):
    found = errors(**kwargs)
    assert len(found) == 1 and found[0].startswith(expected), found


def test_an_unknown_key_far_from_any_lists_the_known_ones():
    (found,) = errors(dns={"colour": "blue"})
    assert found == "host h1: swarmnet_dns.colour='blue': unknown key (known: domain, timeout, ttl, upstreams)"


@pytest.mark.parametrize("kwargs, expected", [
    ({"networks": {"name": "front"}}, "host h1: swarmnet_networks={'name': 'front'}: must be a list"),
    ({"networks": ["front"]}, "host h1: swarmnet_networks[0]='front': must be a mapping"),
    ({"networks": [{"name": "front", "encrypted": "yes"}]}, "host h1: swarmnet_networks[0].encrypted='yes': must be true or false"),
    ({"networks": [{"name": "front", "vni": "many"}]}, "host h1: swarmnet_networks[0].vni='many': must be an integer"),
    ({"networks": [{"subnet": "10.0.0.0/24"}]}, "host h1: swarmnet_networks[0].name=None: required"),
    ({"networks": [{"name": "front", "state": "gone"}]},
     "host h1: swarmnet_networks[0].state='gone': must be one of present, absent"),
    ({"sandboxes": [{"name": "a", "egress": "no"}]}, "host h2: swarmnet_sandboxes[0].egress='no': must be true or false"),
    ({"sandboxes": [{"name": "a", "networks": [7]}]}, "host h2: swarmnet_sandboxes[0].networks[0]=7: must be a name or a mapping with keys network, ip"),
    ({"services": [dict(GOOD_SERVICE, ports=[{"published": "http"}])]},
     "host h1: swarmnet_services[0].ports[0].published='http': must be an integer"),
    ({"services": [dict(GOOD_SERVICE, healthcheck={"http": 80})]},
     "host h1: swarmnet_services[0].healthcheck.http=80: must be a mapping"),
    ({"dns": {"upstreams": "9.9.9.9 8.8.8.8", "ttl": [5]}}, "host h1: swarmnet_dns.ttl=[5]: must be an integer"),
    ({"dns": "swarm"}, "host h1: swarmnet_dns='swarm': must be a mapping"),
])
def test_a_wrong_type_is_refused(kwargs, expected):
    found = errors(**kwargs)
    assert len(found) == 1 and found[0].startswith(expected), found


def test_numbers_from_templates_are_strings_of_digits_and_pass():
    assert errors(networks=[{"name": "front", "vni": "4100", "mtu": "1400"}],
                  services=[dict(GOOD_SERVICE, replicas="3", ports=[{"published": "8080"}])]) == []


def test_every_problem_of_every_host_is_reported_at_once():
    found = shape_errors({"networks": [{"name": "a", "sbnet": "x"}], "services": [], "dns": {"tll": 5}},
                         {"h1": {"sandboxes": [{"nme": "a"}]}, "h2": {"sandboxes": [{"name": "b", "egres": True}]}},
                         "h1")
    assert [e.split("=")[0] for e in found] == [
        "host h1: swarmnet_networks[0].sbnet", "host h1: swarmnet_dns.tll", "host h1: swarmnet_sandboxes[0].nme",
        "host h1: swarmnet_sandboxes[0].name", "host h2: swarmnet_sandboxes[0].egres"]


def rendered(value, variables):
    """The inventory's templates, rendered as Ansible renders them (native types)."""
    if isinstance(value, str) and "{{" in value:
        return rendered(NativeEnvironment().from_string(value).render(**variables), variables)
    if isinstance(value, list):
        return [rendered(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: rendered(v, variables) for k, v in value.items()}
    return value


def test_the_lab_inventory_uses_only_declared_keys():
    """The spec covers every key the demo uses (a key missing from it would refuse the demo)."""
    with open(os.path.join(ROOT, "inventories", "lab", "group_vars", "swarmnet.yml"), encoding="utf-8") as f:
        lab = yaml.safe_load(f)
    cluster = {name: rendered(lab.get(name), lab) for name in inputs.CLUSTER_VARIABLES}
    hosts = {host: {"swarmnet_sandboxes": sandboxes} for host, sandboxes in lab["lab_sandboxes"].items()}
    problems = []
    inputs.check_variables(variable_specs(), cluster, hosts, "h1", lambda *problem: problems.append(problem))
    assert cluster["swarmnet_services"] and cluster["swarmnet_networks"] and problems == []


def test_every_checked_variable_has_its_keys_declared():
    specs = variable_specs()
    for variable in inputs.CLUSTER_VARIABLES + inputs.HOST_VARIABLES:
        spec = specs[variable]
        assert "options" in spec, variable
        for key, option in spec["options"].items():
            assert option.get("description"), (variable, key)
