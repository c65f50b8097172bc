# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nftables table of the load balancer: marking, and balancing where IPVS is missing.

Marking looks the VIP up in a map (one lookup, however many services); balancing
dispatches on the mark with a verdict map to one chain per service, whose single
rule DNATs through `numgen inc|random mod W` into a map of weighted ranges
(LAB-NOTES: Docker's shape with nftables instead of IPVS). A service with no backend
rejects what its sandbox sends it. The whole table is replaced in one transaction,
so a backend set never changes half-way.
"""

from __future__ import annotations

FAMILY = "ip"
DEFAULT_TABLE = "swarmnet_lb"


def _elements(items):
    return "elements = { %s }" % ", ".join(items)


def _weighted_map(svc):
    """numgen slots: a backend of weight w takes w consecutive slots."""
    slots, start = [], 0
    for dest in svc["backends"]:
        if dest["weight"] == 0:
            continue
        end = start + dest["weight"] - 1
        target = dest["address"] + (" . %d" % svc["target_port"] if svc["target_port"] else "")
        slots.append(("%d" % start if start == end else "%d-%d" % (start, end), target))
        start = end + 1
    return start, slots


def render(table, services, balance=True):
    """nft text for the table; balance=False keeps only marking (IPVS balances)."""
    by_address = ["%s : %#x" % (s["vip"], s["fwmark"]) for s in services if not s["port"]]
    by_port = ["%s . %s . %d : %#x" % (s["vip"], s["protocol"], s["port"], s["fwmark"])
               for s in services if s["port"]]
    lines = ["table %s %s {" % (FAMILY, table),
             "  map vip_marks {", "    type ipv4_addr : mark"]
    lines += ["    " + _elements(by_address)] if by_address else []
    lines += ["  }", "  map vip_port_marks {", "    type ipv4_addr . inet_proto . inet_service : mark"]
    lines += ["    " + _elements(by_port)] if by_port else []
    lines += ["  }"]
    mark_rules = ["    meta mark set ip daddr . meta l4proto . th dport map @vip_port_marks",
                  "    meta mark 0 meta mark set ip daddr map @vip_marks"]
    lines += ["  chain mark_output {", "    type route hook output priority mangle; policy accept;"]
    lines += mark_rules + ["  }"]
    lines += ["  chain mark_prerouting {", "    type filter hook prerouting priority mangle; policy accept;"]
    lines += mark_rules + ["  }"]
    dispatch = []
    if balance:
        for svc in services:
            modulus, slots = _weighted_map(svc)
            lines.append("  chain svc_%x {" % svc["fwmark"])
            if slots:
                proto = "meta l4proto %s " % svc["protocol"] if svc["target_port"] else ""
                lines.append("    %sdnat to numgen %s mod %d map { %s }" % (
                    proto, "inc" if svc["scheduler"] == "rr" else "random", modulus,
                    ", ".join("%s : %s" % slot for slot in slots)))
            lines.append("  }")
            dispatch.append("%#x : goto svc_%x" % (svc["fwmark"], svc["fwmark"]))
    for hook, priority in (("output", "-100"), ("prerouting", "-100")):
        lines += ["  chain nat_%s {" % hook, "    type nat hook %s priority %s; policy accept;" % (hook, priority)]
        if dispatch:
            lines.append("    meta mark vmap { %s }" % ", ".join(dispatch))
        lines.append("  }")
    masquerade = ["%#x" % s["fwmark"] for s in services if s["masquerade"]]
    lines += ["  chain nat_postrouting {", "    type nat hook postrouting priority 100; policy accept;"]
    if masquerade:
        lines.append("    meta mark { %s } masquerade" % ", ".join(masquerade))
    lines += ["  }"]
    # A service with nowhere to send refuses a new connection at once (ICMP port unreachable:
    # ECONNREFUSED), where its VIP would otherwise leave it unanswered and the client wait for its
    # timeout. Only a new one: those its quiesced backends have finish. Not where IPVS balances:
    # it refuses by itself where no backend takes a connection, and the live agent switches its
    # weights without this table, where such a rule would stay after a backend came back.
    empty = ["%#x" % s["fwmark"] for s in services if not any(d["weight"] for d in s["backends"])] if balance else []
    lines += ["  chain refuse_output {", "    type filter hook output priority filter; policy accept;"]
    if empty:
        lines.append("    ct state new meta mark { %s } reject" % ", ".join(empty))
    lines += ["  }", "}"]
    # nft 1.0.6 needs a newline before the closing brace after a map (LAB-NOTES).
    return "\n".join(lines) + "\n"


def owned_marks(objects):
    """Marks the live table (canonical JSON objects, or None) assigns: the services it owns."""
    marks = set()
    for item in objects or []:
        if "map" in item and item["map"].get("map") == "mark":
            marks.update(value for _key, value in item["map"].get("elem", []))
    return marks


def marked_vips(objects):
    """VIPs the live table (canonical JSON objects, or None) marks."""
    vips = set()
    for item in objects or []:
        if "map" in item and item["map"].get("map") == "mark":
            for key, _value in item["map"].get("elem", []):
                first = key["concat"][0] if isinstance(key, dict) and "concat" in key else key
                if isinstance(first, str):
                    vips.add(first)
    return vips
