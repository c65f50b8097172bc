# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster's topology from every host's overlay_info result, and as a Graphviz graph.

Pure logic (no kernel): playbooks/inspect.yml feeds it live data and renders the graph with
Graphviz's dot on the controller.
"""

from __future__ import annotations

import ipaddress
import json
from collections import Counter


def _ip_key(text):
    try:
        return (0, ipaddress.IPv4Address(text))
    except (ValueError, TypeError):
        return (1, str(text))


def _services(reports):
    """Each service as most hosts record it (registries agree once a run has finished)."""
    seen = {}
    for report in reports.values():
        for svc in report.get("services") or []:
            seen.setdefault(svc.get("name"), Counter())[json.dumps(svc, sort_keys=True)] += 1
    return [json.loads(versions.most_common(1)[0][0]) for _name, versions in sorted(seen.items())]


HEALTH_COLOURS = {"healthy": "palegreen", "starting": "khaki", "unhealthy": "salmon", "stopped": "salmon"}


def _status(host, reports):
    """A host's status as the live layer sees it: what most other hosts' agents say (a host cut off
    sees itself alive), else what it says of itself; None without a live layer."""
    seen = Counter((r.get("live") or {}).get("hosts", {}).get(host) for other, r in reports.items() if other != host)
    seen.pop(None, None)
    if seen:
        return seen.most_common(1)[0][0]
    return ((reports.get(host) or {}).get("live") or {}).get("hosts", {}).get(host)


def _health(reports):
    """{(host, task): state} as each host's agent knows its own tasks."""
    return {(host, name): detail.get("state")
            for host, report in reports.items()
            for name, detail in ((report.get("live") or {}).get("local") or {}).items()}


def model(reports, addresses=None):
    """{hosts, networks, services} from {host: overlay_info result}; `addresses` maps host to
    its advertise address. Hosts carry their status (alive, failed, ...) and tasks their health,
    as the live layer knows them (None where it does not run)."""
    addresses = addresses or {}
    services = _services(reports)
    health = _health(reports)
    task_of = {(t.get("host"), t.get("sandbox")): (t.get("name"), svc.get("name"))
               for svc in services for t in svc.get("tasks") or []}
    networks, hosts = {}, []
    for host in sorted(reports):
        report = reports[host] or {}
        for net in report.get("networks") or []:
            entry = networks.setdefault(net["name"], {
                "name": net["name"], "vni": net.get("vni"), "subnet": net.get("subnet"),
                "gateway": net.get("gateway"), "data_port": net.get("data_port"), "hosts": []})
            entry["hosts"].append(host)
        sandboxes = {}
        for ep in report.get("endpoints") or []:
            task, service = task_of.get((host, ep.get("sandbox")), (None, None))
            sandbox = sandboxes.setdefault(ep.get("sandbox"), {
                "name": ep.get("sandbox"), "task": task, "service": service, "endpoints": [],
                "health": health.get((host, task))})
            sandbox["endpoints"].append({"network": ep.get("network"), "ip": ep.get("ip")})
        hosts.append({"name": host, "address": addresses.get(host), "status": _status(host, reports),
                      "sandboxes": [sandboxes[name] for name in sorted(sandboxes)]})
    return {
        "hosts": hosts,
        "networks": sorted(networks.values(), key=lambda n: (n["vni"] is None, n["vni"] or 0, n["name"])),
        "services": [{"name": s.get("name"), "endpoint_mode": s.get("endpoint_mode"),
                      "vips": s.get("vips") or {}, "ports": s.get("ports") or [],
                      "tasks": sorted((dict(t, health=health.get((t.get("host"), t.get("name"))))
                                       for t in s.get("tasks") or []), key=lambda t: str(t.get("name")))}
                     for s in services],
    }


def _quote(text):
    return '"%s"' % str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _port_text(port):
    return "%s %s->%s/%s" % (port.get("mode", "ingress"), port.get("published"), port.get("target"),
                             port.get("protocol", "tcp"))


def dot(topology):
    """Graphviz text: a box per host holding its sandboxes, a node per network (VNI, subnet),
    a node per service (VIPs, published ports); edges carry the endpoint addresses."""
    lines = ["digraph swarmnet {", "  graph [rankdir=LR, fontname=Helvetica, label=\"swarmnet topology\"];",
             "  node [fontname=Helvetica, fontsize=10]; edge [fontname=Helvetica, fontsize=9];"]
    names = {n["name"] for n in topology["networks"]}
    for net in topology["networks"]:
        label = "%s\nVNI %s\n%s" % (net["name"], net["vni"], net["subnet"] or "")
        lines.append("  %s [shape=hexagon, style=filled, fillcolor=lightblue, label=%s];"
                     % (_quote("net:" + net["name"]), _quote(label)))
    for i, host in enumerate(topology["hosts"]):
        lines.append("  subgraph cluster_%d {" % i)
        status = host.get("status")
        label = "%s  %s%s" % (host["name"], host.get("address") or "", "  (%s)" % status if status else "")
        border = "" if status in (None, "alive") else " color=red; penwidth=2;"
        lines.append("    label=%s; style=rounded;%s" % (_quote(label), border))
        for sb in host["sandboxes"]:
            title = sb["name"] if not sb["task"] else "%s (%s)" % (sb["task"], sb["service"])
            if sb.get("health"):
                title += "\n" + sb["health"]
            fill = HEALTH_COLOURS.get(sb.get("health"))
            style = ", style=filled, fillcolor=%s" % fill if fill else ""
            node = _quote("sb:%s/%s" % (host["name"], sb["name"]))
            lines.append("    %s [shape=box%s, label=%s];" % (node, style, _quote(title)))
        lines.append("  }")
        for sb in host["sandboxes"]:
            for ep in sorted(sb["endpoints"], key=lambda e: str(e["network"])):
                if ep["network"] in names:
                    lines.append("  %s -> %s [dir=none, label=%s];" % (
                        _quote("sb:%s/%s" % (host["name"], sb["name"])), _quote("net:" + ep["network"]),
                        _quote(ep["ip"])))
    for svc in topology["services"]:
        parts = [svc["name"]] + ["VIP %s %s" % (net, vip) for net, vip in sorted(svc["vips"].items())]
        parts += [_port_text(p) for p in svc["ports"]]
        if svc["endpoint_mode"] == "dnsrr":
            parts.append("dnsrr")
        node = _quote("svc:" + svc["name"])
        lines.append("  %s [shape=box3d, style=filled, fillcolor=lightyellow, label=%s];" % (node, _quote("\n".join(parts))))
        for task in svc["tasks"]:
            lines.append("  %s -> %s [style=dashed];" % (node, _quote("sb:%s/%s" % (task.get("host"), task.get("sandbox")))))
    lines.append("}")
    return "\n".join(lines) + "\n"
