# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Virtual services balanced in the kernel: the model both backends share (pure).

A virtual service is keyed by its fwmark, as Docker keys IPVS services. Traffic
to its VIP (every port, or one protocol and port) gets the mark; the marked
traffic is spread over the backends (rr or random, with weights) by NAT. Both
backends mark with nftables; IPVS or an nftables numgen map then balances.
"""

from __future__ import annotations

import ipaddress
import json

SCHEDULERS = {"nftables": ("rr", "random"),
              "ipvs": ("rr", "wrr", "lc", "wlc", "sh", "dh", "sed", "nq", "mh")}
PROTOCOLS = ("tcp", "udp")
MIN_FWMARK, MAX_FWMARK = 1, 0xFFFFFFFF


# What a virtual service and a backend hold when a key is left out. The ipvs_service module's
# argument spec takes its defaults from here, and a balancing record is written with them filled
# in (with_defaults), so it reads the same whether the module or the boot-time restore (which
# passes the plan's entries as they are) wrote it: a converge after a reboot changes nothing.
SERVICE_DEFAULTS = {"protocol": "tcp", "port": None, "target_port": None, "scheduler": "rr", "masquerade": False}
BACKEND_DEFAULTS = {"weight": 1, "task": None, "host": None}


class LbError(Exception):
    pass


def with_defaults(services):
    """Copies of `services` with every key left out set to its default, as the module's arguments are."""
    out = []
    for svc in services:
        backends = [dict(BACKEND_DEFAULTS, **backend) for backend in svc.get("backends") or []]
        out.append(dict(SERVICE_DEFAULTS, **dict(svc, backends=backends)))
    return out


def shared(entries):
    """[{sandbox, services}] as [{sandboxes, services}]: each distinct balancing once, with the
    sandboxes that share it, in the order they first come. Every sandbox of a network balances
    the same services, so a host's balancing written out per sandbox grows with sandboxes times
    services; this way it grows with services (the plan, and every module's arguments, stay small)."""
    groups, by_text, by_list = [], {}, {}
    for entry in entries:
        group = by_list.get(id(entry["services"]))     # the plan hands sandboxes that share one the same list
        if group is None:
            text = json.dumps(entry["services"], sort_keys=True)
            if text not in by_text:
                by_text[text] = {"sandboxes": [], "services": entry["services"]}
                groups.append(by_text[text])
            group = by_list[id(entry["services"])] = by_text[text]
        group["sandboxes"].append(entry["sandbox"])
    return groups


def per_sandbox(groups):
    """shared()'s groups written out again: [{sandbox, services}] (the services shared, not copied)."""
    return [{"sandbox": sandbox, "services": group["services"]} for group in groups for sandbox in group["sandboxes"]]


def _port(value, key):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise LbError("%s=%r: not a port (1-65535)" % (key, value))
    return value


def normalise(services, backend):
    """Validated, sorted copies of `services`; every error names the service's key and value."""
    out, marks, vips = [], set(), set()
    for i, svc in enumerate(services):
        key = "services[%d]" % i
        fwmark = svc.get("fwmark")
        if isinstance(fwmark, bool) or not isinstance(fwmark, int) or not MIN_FWMARK <= fwmark <= MAX_FWMARK:
            raise LbError("%s.fwmark=%r: must be an integer from 1 to %d" % (key, fwmark, MAX_FWMARK))
        if fwmark in marks:
            raise LbError("%s.fwmark=%r: used by another service" % (key, fwmark))
        marks.add(fwmark)
        try:
            vip = str(ipaddress.IPv4Address(svc.get("vip")))
        except ValueError:
            raise LbError("%s.vip=%r: not an IPv4 address" % (key, svc.get("vip")))
        protocol = svc.get("protocol") or "tcp"
        if protocol not in PROTOCOLS:
            raise LbError("%s.protocol=%r: must be tcp or udp" % (key, protocol))
        port = _port(svc.get("port"), key + ".port")
        target_port = _port(svc.get("target_port"), key + ".target_port")
        if target_port is not None and port is None:
            raise LbError("%s.target_port=%r: needs a port" % (key, target_port))
        if (vip, protocol if port else None, port) in vips:
            raise LbError("%s.vip=%r: the same VIP and port are marked by another service" % (key, vip))
        vips.add((vip, protocol if port else None, port))
        scheduler = svc.get("scheduler") or "rr"
        if scheduler not in SCHEDULERS[backend]:
            raise LbError("%s.scheduler=%r: the %s backend supports %s"
                          % (key, scheduler, backend, ", ".join(SCHEDULERS[backend])))
        dests = []
        for j, dest in enumerate(svc.get("backends") or []):
            dkey = "%s.backends[%d]" % (key, j)
            try:
                address = ipaddress.IPv4Address(dest.get("address"))
            except ValueError:
                raise LbError("%s.address=%r: not an IPv4 address" % (dkey, dest.get("address")))
            weight = dest.get("weight", 1)
            if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= 65535:
                raise LbError("%s.weight=%r: must be an integer from 0 to 65535" % (dkey, weight))
            dests.append((address, weight))
        if len({address for address, _weight in dests}) != len(dests):
            raise LbError("%s.backends: an address is listed twice" % key)
        out.append({"fwmark": fwmark, "vip": vip, "protocol": protocol, "port": port,
                    "target_port": target_port, "scheduler": scheduler,
                    "masquerade": bool(svc.get("masquerade", False)),
                    "backends": [{"address": str(address), "weight": weight} for address, weight in sorted(dests)]})
    return sorted(out, key=lambda s: s["fwmark"])


def summary(services):
    """Diff-friendly view: one line per service, one per backend."""
    lines = []
    for svc in services:
        where = svc["vip"] + (":%s/%d" % (svc["protocol"], svc["port"]) if svc["port"] else "")
        port = " -> port %d" % svc["target_port"] if svc["target_port"] else ""
        masquerade = " masquerade" if svc["masquerade"] else ""
        lines.append("fwmark %#x %s %s%s%s" % (svc["fwmark"], where, svc["scheduler"], port, masquerade))
        lines += ["  %s weight %d" % (d["address"], d["weight"]) for d in svc["backends"]]
    return lines
