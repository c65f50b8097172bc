"""ipvs_service with real connections: a client namespace, three backend servers.

Runs the module file itself, as Ansible does (arguments in a JSON file), inside the
isolated host of tests/integration/run.sh. The kernel here has no IPVS, so
`auto` must choose nftables.
"""

import collections
import json
import os
import subprocess
import sys
import time

import pytest

from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import conntrack, netns

if os.environ.get("SWARMNET_ISOLATED") != "1":
    pytest.skip("run through tests/integration/run.sh (isolated namespaces)", allow_module_level=True)

BACKENDS = {"b1": "10.0.1.2", "b2": "10.0.1.3", "b3": "10.0.1.4"}
VIP = "10.0.1.100"
SERVER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[2]))); s.listen(64)
while True:
    c, _ = s.accept(); c.sendall(sys.argv[1].encode()); c.close()
"""
CLIENT = """
import socket, sys, json
seen = {}
for _ in range(int(sys.argv[3])):
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
    name = c.recv(16).decode(); c.close()
    seen[name] = seen.get(name, 0) + 1
print(json.dumps(seen))
"""


def sh(*args):
    subprocess.run(args, check=True, capture_output=True)


@pytest.fixture(scope="module")
def lab():
    """One L2 segment (a bridge in namespace lbnet): client cli, backends b1-b3 serving 8000 and 80."""
    sh("ip", "netns", "add", "lbnet")
    sh("ip", "-n", "lbnet", "link", "add", "br0", "type", "bridge")
    sh("ip", "-n", "lbnet", "link", "set", "br0", "up")
    servers = []
    for i, (name, address) in enumerate([("cli", "10.0.1.10")] + list(BACKENDS.items())):
        sh("ip", "netns", "add", name)
        sh("ip", "-n", "lbnet", "link", "add", "p%d" % i, "type", "veth", "peer", "name", "eth0", "netns", name)
        sh("ip", "-n", "lbnet", "link", "set", "p%d" % i, "master", "br0", "up")
        sh("ip", "-n", name, "addr", "add", address + "/24", "dev", "eth0")
        sh("ip", "-n", name, "link", "set", "eth0", "up")
        sh("ip", "-n", name, "link", "set", "lo", "up")
        if name != "cli":
            for port in ("8000", "80"):
                servers.append(subprocess.Popen(["ip", "netns", "exec", name, sys.executable, "-c", SERVER,
                                                 name, port]))
    time.sleep(0.5)
    yield
    for proc in servers:
        proc.kill()
        proc.wait()
    for name in ["cli", "lbnet"] + list(BACKENDS):
        netns.remove(name)


@pytest.fixture
def lb(run_module, tmp_path):
    """ipvs_service in namespace cli unless told otherwise, with a state_dir of the test's own."""
    def run(check=False, **args):
        if "sandboxes" not in args:
            args.setdefault("netns", "cli")
        args.setdefault("state_dir", str(tmp_path / "state"))     # the live layer's records, not the machine's
        return run_module("ipvs_service", check, **args)
    return run


def requests(count=300, port=8000, target=VIP):
    out = subprocess.run(["ip", "netns", "exec", "cli", sys.executable, "-c", CLIENT, target, str(port), str(count)],
                         capture_output=True, text=True, check=True).stdout
    return collections.Counter(json.loads(out))


def service(*names, weights=None, **extra):
    weights = weights or {}
    return dict({"fwmark": 257, "vip": VIP,
                 "backends": [{"address": BACKENDS[n], "weight": weights.get(n, 1)} for n in names]}, **extra)


def test_vip_splits_evenly_and_backends_see_the_client(lab, lb):
    result = lb(services=[service("b1", "b2", "b3")])
    assert result["changed"] and result["backend"] == "nftables", result
    assert requests() == {"b1": 100, "b2": 100, "b3": 100}
    assert lb(services=[service("b1", "b2", "b3")])["changed"] is False


def test_weights_and_removed_backends(lab, lb):
    lb(services=[service("b1", "b2", "b3", weights={"b1": 2})])
    assert requests(400) == {"b1": 200, "b2": 100, "b3": 100}
    result = lb(services=[service("b1", "b2")])
    assert "  10.0.1.4 weight 1" not in result["services"]
    assert requests() == {"b1": 150, "b2": 150}


def test_check_mode_reports_and_changes_nothing(lab, lb):
    lb(services=[service("b1", "b2")])
    result = lb(check=True, services=[service("b3")])
    assert result["changed"] and "10.0.1.4" in result["diff"][0]["after"]
    assert requests(100) == {"b1": 50, "b2": 50}


def test_published_port_to_target_port(lab, lb):
    lb(services=[service("b2", "b3", port=80, target_port=8000, fwmark=258)])
    # Every request reaches a backend on the target port, over both. Not asserted exactly: here a
    # numgen slot is sometimes taken with no connection to show for it (51/49 in about one run of
    # four, 52/48 once in CI; no SYN is retransmitted, the 100 requests take no longer; not
    # understood yet, see the issue notes). The exact split is test_vip_splits_evenly's.
    seen = requests(100, port=80)
    assert sum(seen.values()) == 100 and set(seen) == {"b2", "b3"} and min(seen.values()) >= 40, seen


OPENS = """
import socket, sys, time
held = []
for _ in range(int(sys.argv[3])):
    s = socket.socket(); s.setblocking(False); s.connect_ex((sys.argv[1], int(sys.argv[2]))); held.append(s)
    time.sleep(0.05)
time.sleep(60)
"""


def _tracked(backend):
    """{replied: count} of cli's tracked connections DNATed to `backend`."""
    with netns.inside("cli"), conntrack.connect() as ct:
        entries = [e for e in ct.dump_entries() if e.tuple_reply.saddr == backend]
    return collections.Counter(bool(e.status & conntrack.SEEN_REPLY) for e in entries)


def test_a_quiesced_backend_keeps_the_connections_it_answered_and_loses_those_it_did_not(lab, lb):
    """b2 drops SYNs: the connections sent to it wait unanswered; held back (weight 0), they are
    flushed, so a retried SYN is balanced again, while b3's answered ones stay, as IPVS keeps them."""
    lb(services=[service("b2", "b3")])
    with netns.inside("cli"), conntrack.connect() as ct:
        ct.flush()          # what earlier tests left
    requests(10)            # answered by both: those stay
    drop = "add table inet t; add chain inet t in { type filter hook input priority 0; }; " \
           "add rule inet t in tcp dport 8000 drop"
    sh("ip", "netns", "exec", "b2", "nft", drop)
    client = subprocess.Popen(["ip", "netns", "exec", "cli", sys.executable, "-c", OPENS, VIP, "8000", "6"])
    try:
        deadline = time.time() + 10
        while sum((_tracked(BACKENDS["b2"]) + _tracked(BACKENDS["b3"])).values()) < 16 and time.time() < deadline:
            time.sleep(0.1)
        b2, b3 = _tracked(BACKENDS["b2"]), _tracked(BACKENDS["b3"])
        assert b2[False] and b2[True] and b3[True] and not b3[False], (b2, b3)
        held_back = lb(services=[service("b2", "b3", weights={"b2": 0, "b3": 0})])
        assert any("flush %d tracked connections" % b2[False] in a for a in held_back["actions"]), held_back
        assert _tracked(BACKENDS["b2"]) == {True: b2[True]} and _tracked(BACKENDS["b3"]) == b3
    finally:
        client.kill()
        client.wait()
        sh("ip", "netns", "exec", "b2", "nft", "delete table inet t")


def test_ipvs_requested_without_ipvs_is_a_clear_error(lab, lb):
    result = lb(backend="ipvs", services=[service("b1")])
    assert result["failed"] and "this kernel has no IPVS" in result["msg"]


def test_bad_service_names_key_and_value(lab, lb):
    result = lb(services=[service("b1", scheduler="wlc")])
    assert result["msg"] == "netns cli: services[0].scheduler='wlc': the nftables backend supports rr, random"


def test_absent_removes_the_table(lab, lb):
    lb(services=[service("b1")])
    assert lb(state="absent")["changed"]
    listing = subprocess.run(["ip", "netns", "exec", "cli", "nft", "list", "tables"],
                             capture_output=True, text=True, check=True).stdout
    assert "swarmnet_lb" not in listing
    assert lb(state="absent")["changed"] is False


def test_many_sandboxes_in_one_run_each_on_its_own(lab, lb):
    both = [{"sandbox": "cli", "services": [service("b1", "b2")]}, {"sandbox": "b3", "services": []}]
    result = lb(sandboxes=both + [{"sandbox": "ghost", "services": [service("b1")]}])
    # the missing namespace fails on its own; the others are made all the same
    assert result["failed"] and result["msg"] == "netns ghost: no such network namespace", result
    assert [(r["name"], r["changed"]) for r in result["results"]] == \
        [("netns cli", True), ("netns b3", False), ("netns ghost", False)]
    # Both backends, in turn. Not an exact 50/50: CI runs saw 51/49 here, likely a client port
    # reused while its old connection was still tracked, which follows that entry, not the round robin.
    made = requests(100)
    assert set(made) == {"b1", "b2"} and min(made.values()) >= 45, made
    assert lb(sandboxes=both)["changed"] is False
    check = lb(check=True, sandboxes=[{"sandbox": "cli", "services": [service("b3")]}])
    assert check["changed"] and check["actions"] and all(a.startswith("netns cli: ") for a in check["actions"])
    after = requests(100)       # check mode added no b3
    assert set(after) == {"b1", "b2"} and min(after.values()) >= 45, after


def test_many_sandboxes_checked_as_strictly_as_one_before_any_change(lab, lb):
    lb(services=[service("b1")])
    bad = dict(service("b2"), colour="blue")
    result = lb(sandboxes=[{"sandbox": "cli", "services": [service("b2", "b3")]},
                           {"sandbox": "b3", "services": [bad]}])
    assert result["failed"] and result["msg"].startswith("sandboxes[1] (b3): services.colour"), result
    assert requests(60) == {"b1": 60}
