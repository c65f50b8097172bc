"""The resolver against the real kernel: sockets inside a sandbox, scoped answers, forwarding.

Runs the resolver in a thread of the test (it holds sockets in the sandbox made with
setns) and asks it from a socket inside the sandbox, as a task would.
"""

import json
import os
import socket
import threading
import time

import pytest
from dnslib import QTYPE, RCODE, RR, A, DNSRecord

from ansible_collections.swarmnet.overlay.plugins.module_utils.host import dns_server
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import netns, thread_netns

if os.environ.get("SWARMNET_ISOLATED") != "1":
    pytest.skip("run through tests/integration/run.sh (isolated namespaces)", allow_module_level=True)

UPSTREAM = "198.18.9.53"
SILENT = "198.18.9.54"
REGISTRY = [{"name": "web", "endpoint_mode": "vip", "networks": ["frontend"], "vips": {"frontend": "10.10.1.8"},
             "tasks": [{"name": "web.1", "addresses": {"frontend": "10.10.1.5"}}]},
            {"name": "db", "endpoint_mode": "vip", "networks": ["backend"], "vips": {"backend": "10.10.2.8"},
             "tasks": [{"name": "db.1", "addresses": {"backend": "10.10.2.5"}}]},
            {"name": "cache", "endpoint_mode": "dnsrr", "networks": ["frontend"], "vips": {},
             "tasks": [{"name": "cache.%d" % n, "addresses": {"frontend": "10.10.1.%d" % (20 + n)}}
                       for n in range(1, 5)]}]


def in_netns(name, kind):
    """A socket made inside namespace `name` (this thread returns home)."""
    with thread_netns.inside(name):
        return socket.socket(socket.AF_INET, kind)


@pytest.fixture()
def world(tmp_path):
    with netns.rtnl() as ipr:
        lo = ipr.link_lookup(ifname="lo")[0]
        ipr.link("set", index=lo, state="up")
        for address in (UPSTREAM, SILENT):
            try:
                ipr.addr("add", index=lo, address=address, prefixlen=32)
            except netns.NetlinkError:
                pass
    if netns.exists("s1"):
        netns.remove("s1")
    netns.create("s1")
    with netns.rtnl("s1") as ipr:
        ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
    # A counting stand-in upstream, and one that never answers.
    upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    upstream.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    upstream.bind((UPSTREAM, 53))
    upstream.settimeout(0.2)        # so its thread sees the end of the test
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    silent.bind((SILENT, 53))
    asked, done = [], threading.Event()

    def serve_upstream():
        while not done.is_set():
            try:
                data, peer = upstream.recvfrom(4096)
            except socket.timeout:
                continue
            request = DNSRecord.parse(data)
            asked.append(str(request.q.qname))
            reply = request.reply()
            reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A("192.0.2.99"), ttl=60))
            upstream.sendto(reply.pack(), peer)

    threading.Thread(target=serve_upstream, daemon=True).start()
    config = {"sandboxes": {"s1": ["frontend"]}, "services": REGISTRY, "upstreams": [UPSTREAM], "timeout": 0.5}
    (tmp_path / "dns.json").write_text(json.dumps(config))
    stop, reload = threading.Event(), threading.Event()
    resolver = dns_server.Resolver(str(tmp_path))
    thread = threading.Thread(target=resolver.serve, args=(stop, reload), daemon=True)
    thread.start()
    time.sleep(0.3)
    yield {"asked": asked, "path": tmp_path / "dns.json", "config": config, "reload": reload}
    stop.set()
    done.set()
    thread.join(5)
    time.sleep(0.3)
    upstream.close()
    silent.close()
    netns.remove("s1")


def query(name, qtype="A", tcp=False):
    request = DNSRecord.question(name, qtype)
    sock = in_netns("s1", socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
    with sock:
        sock.settimeout(5)
        if tcp:
            sock.connect((dns_server.ADDRESS, 53))
            data = request.pack()
            sock.sendall(len(data).to_bytes(2, "big") + data)
            length = int.from_bytes(sock.recv(2, socket.MSG_WAITALL), "big")
            return DNSRecord.parse(sock.recv(length, socket.MSG_WAITALL))
        sock.sendto(request.pack(), (dns_server.ADDRESS, 53))
        return DNSRecord.parse(sock.recv(4096))


def test_answers_inside_the_sandbox_over_udp_and_tcp(world):
    assert [str(rr.rdata) for rr in query("web").rr] == ["10.10.1.8"]
    assert [str(rr.rdata) for rr in query("tasks.web", tcp=True).rr] == ["10.10.1.5"]
    assert query("db").header.rcode == RCODE.NXDOMAIN           # not on the sandbox's network
    nodata = query("web", "AAAA")
    assert nodata.header.rcode == RCODE.NOERROR and nodata.rr == []
    assert world["asked"] == []                                   # none of that went upstream


def test_other_names_are_forwarded_and_a_silent_upstream_is_servfail_fast(world):
    assert [str(rr.rdata) for rr in query("example.org").rr] == ["192.0.2.99"]
    assert world["asked"] == ["example.org."]
    world["path"].write_text(json.dumps(dict(world["config"], upstreams=[SILENT])))
    world["reload"].set()
    time.sleep(0.8)
    started = time.time()
    assert query("example.net").header.rcode == RCODE.SERVFAIL
    assert time.time() - started < 2.0


def test_records_change_at_once_on_reload(world):
    for _ask in range(3):      # the answer is packed once and kept...
        assert [str(rr.rdata) for rr in query("web").rr] == ["10.10.1.8"]
    registry = [dict(REGISTRY[0], vips={"frontend": "10.10.1.9"})]
    world["path"].write_text(json.dumps(dict(world["config"], services=registry)))
    world["reload"].set()
    time.sleep(0.8)
    assert [str(rr.rdata) for rr in query("web").rr] == ["10.10.1.9"]      # ...until the records change


def test_dnsrr_answers_keep_their_shuffle_when_asked_again(world):
    orders = {tuple(str(rr.rdata) for rr in query("cache").rr) for _ask in range(20)}
    assert all(sorted(order) == ["10.10.1.%d" % n for n in range(21, 25)] for order in orders)
    assert len(orders) > 1          # 20 identical orders of 4 by chance: p < 1e-25


def test_a_sandbox_made_later_or_made_again_is_served_without_a_reload(world):
    """After a reboot the resolver starts before the sandboxes exist; a sandbox may be re-made."""
    netns.remove("s1")
    time.sleep(dns_server.RESYNC + 0.5)
    assert "s1" not in json.loads((world["path"].parent / dns_server.LOADED).read_text())["sandboxes"]
    netns.create("s1")          # a new namespace under the old name: the old sockets are gone with it
    with netns.rtnl("s1") as ipr:
        ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
    time.sleep(dns_server.RESYNC + 0.5)
    assert [str(rr.rdata) for rr in query("web").rr] == ["10.10.1.8"]
    assert json.loads((world["path"].parent / dns_server.LOADED).read_text())["sandboxes"] == ["s1"]
