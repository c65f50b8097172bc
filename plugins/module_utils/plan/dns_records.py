# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Service discovery answers, scoped to the networks of the sandbox that asks.

Pure logic over dnslib's wire-format objects (nothing packed by hand). A sandbox
sees the services that share a network with it: `NAME` gives the service's VIP on
the shared networks (vip mode) or its tasks' addresses, shuffled (dnsrr);
`tasks.NAME` gives the tasks' addresses. Both name only the tasks the live layer does
not hold back (availability.py); PTR answers for every task's address. Other types
for these names get NODATA, never a forward (moby#35118, moby#46701). A name of the
cluster that the sandbox cannot see is NXDOMAIN; anything else is not ours and goes
upstream (answer() returns None).
"""

from __future__ import annotations

import ipaddress

try:
    from dnslib import PTR, QTYPE, RCODE, RR, A
except ImportError:  # the module or resolver reports a missing dnslib
    A = None

DEFAULT_TTL = 5


def _fqdn(name):
    return name.rstrip(".").lower() + "."


def _reverse(ip):
    return ipaddress.IPv4Address(ip).reverse_pointer + "."


def _names(name, domain):
    """The forms a service name is asked by: NAME, and NAME.DOMAIN with a cluster domain."""
    forms = [_fqdn(name)]
    if domain:
        forms.append(_fqdn("%s.%s" % (name, domain)))
    return forms


class View:
    """The records one sandbox sees, plus the cluster's names it must not see."""

    def __init__(self, services, networks, domain=None, ttl=DEFAULT_TTL, serving=None):
        """`serving`: {(host, task)} that get traffic (the live layer's mask); None: every task."""
        self.ttl = ttl
        self.records = {}       # qname -> {"addresses": [...], "shuffle": bool}
        self.pointers = {}      # reverse name -> name
        self.hidden = set()     # names and reverse names of the cluster outside this view
        mine = set(networks)
        for svc in services:
            shared = sorted(mine & set(svc.get("networks") or []))
            tasks = svc.get("tasks") or []
            answering = [t for t in tasks if serving is None or (t.get("host"), t.get("name")) in serving]
            task_ips = sorted({t["addresses"][net] for t in answering for net in shared if net in t["addresses"]},
                              key=ipaddress.IPv4Address)
            vips = [svc["vips"][net] for net in shared if net in (svc.get("vips") or {})]
            names = _names(svc["name"], domain)
            task_names = _names("tasks." + svc["name"], domain)
            all_ips = list((svc.get("vips") or {}).values()) + [
                ip for t in tasks for net, ip in t["addresses"].items() if net in (svc.get("networks") or [])]
            if not shared:
                self.hidden.update(names + task_names + [_reverse(ip) for ip in all_ips])
                continue
            dnsrr = svc.get("endpoint_mode") == "dnsrr"
            for qname in names:
                self.records[qname] = {"addresses": task_ips if dnsrr else vips, "shuffle": dnsrr}
            for qname in task_names:
                self.records[qname] = {"addresses": task_ips, "shuffle": dnsrr}
            for vip in vips:
                self.pointers[_reverse(vip)] = names[-1]
            for task in tasks:
                for net in shared:
                    if net in task["addresses"]:
                        self.pointers[_reverse(task["addresses"][net])] = _names(task["name"], domain)[-1]
        self.hidden -= set(self.records) | set(self.pointers)


def repeatable(view, request):
    """Whether the answer to `request` is the same every time (anything but a shuffled dnsrr list)."""
    record = view.records.get(_fqdn(str(request.q.qname)))
    return not (record and record["shuffle"] and request.q.qtype == QTYPE.A)


def answer(view, request, shuffle):
    """The reply to `request` (a dnslib DNSRecord), or None when the name is not ours.

    `shuffle` reorders a list in place (random.shuffle), for dnsrr answers.
    """
    question = request.q
    qname = _fqdn(str(question.qname))
    reply = request.reply()
    reply.header.ra = 1
    if qname in view.records:
        if question.qtype == QTYPE.A:
            addresses = list(view.records[qname]["addresses"])
            if view.records[qname]["shuffle"]:
                shuffle(addresses)
            for address in addresses:
                reply.add_answer(RR(question.qname, QTYPE.A, ttl=view.ttl, rdata=A(address)))
        return reply            # other types: NODATA, answered here
    if qname in view.pointers:
        if question.qtype == QTYPE.PTR:
            reply.add_answer(RR(question.qname, QTYPE.PTR, ttl=view.ttl, rdata=PTR(view.pointers[qname])))
        return reply
    if qname in view.hidden:
        reply.header.rcode = RCODE.NXDOMAIN
        return reply
    return None
