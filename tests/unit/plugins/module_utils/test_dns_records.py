"""Service discovery answers: scoped to the asker's networks, NODATA and NXDOMAIN kept local."""

import random

from dnslib import RCODE, DNSRecord

from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import dns_records

REGISTRY = [
    {"name": "web", "endpoint_mode": "vip", "networks": ["frontend"], "vips": {"frontend": "10.10.1.8"},
     "tasks": [{"name": "web.1", "addresses": {"frontend": "10.10.1.5", "ingress": "10.255.0.5"}},
               {"name": "web.2", "addresses": {"frontend": "10.10.1.6", "ingress": "10.255.0.6"}}]},
    {"name": "cache", "endpoint_mode": "dnsrr", "networks": ["backend"], "vips": {},
     "tasks": [{"name": "cache.1", "addresses": {"backend": "10.10.2.5"}},
               {"name": "cache.2", "addresses": {"backend": "10.10.2.6"}}]},
]


def ask(view, name, qtype="A"):
    return dns_records.answer(view, DNSRecord.question(name, qtype), random.Random(1).shuffle)


def addresses(reply):
    return sorted(str(rr.rdata) for rr in reply.rr)


def test_service_name_gives_its_vip_and_tasks_name_every_task():
    view = dns_records.View(REGISTRY, ["frontend"])
    assert addresses(ask(view, "web")) == ["10.10.1.8"]
    assert addresses(ask(view, "tasks.web")) == ["10.10.1.5", "10.10.1.6"]
    assert ask(view, "WEB.").rr[0].ttl == dns_records.DEFAULT_TTL


def test_tasks_the_live_layer_holds_back_leave_the_answers_but_keep_their_ptr():
    registry = [dict(svc, tasks=[dict(t, host="h%d" % (i + 1)) for i, t in enumerate(svc["tasks"])])
                for svc in REGISTRY]
    view = dns_records.View(registry, ["frontend", "backend"], serving={("h1", "web.1"), ("h2", "cache.2")})
    assert addresses(ask(view, "tasks.web")) == ["10.10.1.5"]
    assert addresses(ask(view, "cache")) == ["10.10.2.6"]
    assert addresses(ask(view, "web")) == ["10.10.1.8"]                  # the VIP stays: the kernel balances
    assert [str(rr.rdata) for rr in ask(view, "6.1.10.10.in-addr.arpa", "PTR").rr] == ["web.2."]
    assert addresses(ask(dns_records.View(registry, ["frontend"], serving=set()), "tasks.web")) == []


def test_dnsrr_gives_task_addresses_in_a_shuffled_order():
    view = dns_records.View(REGISTRY, ["backend"])
    orders = {tuple(str(rr.rdata) for rr in dns_records.answer(
        view, DNSRecord.question("cache"), random.Random(seed).shuffle).rr) for seed in range(20)}
    assert orders == {("10.10.2.5", "10.10.2.6"), ("10.10.2.6", "10.10.2.5")}


def test_only_shuffled_answers_are_not_repeatable():
    view = dns_records.View(REGISTRY, ["frontend", "backend"])
    repeatable = {question: dns_records.repeatable(view, DNSRecord.question(*question.split("/")))
                  for question in ("web/A", "tasks.web/A", "cache/A", "tasks.cache/A", "cache/AAAA",
                                   "8.1.10.10.in-addr.arpa/PTR", "nosuch/A")}
    assert repeatable == {"web/A": True, "tasks.web/A": True, "cache/A": False, "tasks.cache/A": False,
                          "cache/AAAA": True, "8.1.10.10.in-addr.arpa/PTR": True, "nosuch/A": True}


def test_a_service_on_another_network_is_nxdomain_not_forwarded():
    view = dns_records.View(REGISTRY, ["frontend"])
    assert ask(view, "cache").header.rcode == RCODE.NXDOMAIN
    assert ask(view, "tasks.cache").header.rcode == RCODE.NXDOMAIN
    assert ask(view, "5.2.10.10.in-addr.arpa", "PTR").header.rcode == RCODE.NXDOMAIN


def test_other_types_of_local_names_are_nodata_answered_here():
    view = dns_records.View(REGISTRY, ["frontend"])
    reply = ask(view, "web", "AAAA")
    assert reply is not None and reply.header.rcode == RCODE.NOERROR and reply.rr == []


def test_ptr_for_vips_and_task_addresses():
    view = dns_records.View(REGISTRY, ["frontend"])
    assert str(ask(view, "8.1.10.10.in-addr.arpa", "PTR").rr[0].rdata) == "web."
    assert str(ask(view, "5.1.10.10.in-addr.arpa", "PTR").rr[0].rdata) == "web.1."


def test_unknown_names_are_forwarded_and_the_cluster_domain_is_answered():
    view = dns_records.View(REGISTRY, ["frontend"], domain="swarm.internal", ttl=30)
    assert ask(view, "example.org") is None
    assert ask(view, "1.0.0.127.in-addr.arpa", "PTR") is None
    reply = ask(view, "web.swarm.internal")
    assert addresses(reply) == ["10.10.1.8"] and reply.rr[0].ttl == 30
    assert str(ask(view, "8.1.10.10.in-addr.arpa", "PTR").rr[0].rdata) == "web.swarm.internal."
