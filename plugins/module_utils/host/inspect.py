# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the collection has made on this host: read from the kernel, plus the tasks it
supervises, the service registry (which the kernel cannot tell) and what the live agent knows."""

from __future__ import annotations

import ipaddress
import json

from ansible_collections.swarmnet.overlay.plugins.module_utils.host import applied, registry, task
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import dumps, endpoint, links, netns, peers
from ansible_collections.swarmnet.overlay.plugins.module_utils.live import agent_config, availability
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import naming


def _network(ns):
    with dumps.Reader(ns) as ipr:
        all_links = {lk["ifname"]: lk for lk in links.all_links(ipr)}
        br = all_links.get(naming.BRIDGE)
        if br is None or not (br.get("alias") or "").startswith(naming.BRIDGE_ALIAS):
            return None
        name = br["alias"][len(naming.BRIDGE_ALIAS):]
        addresses = links.ipv4_addresses(ipr, br["index"])
        found = {"name": name, "netns": ns, "mtu": br["mtu"], "vni": None, "data_port": None,
                 "local": None, "peers": [], "ports": sorted(
                     lk["ifname"] for lk in all_links.values() if lk.get("master") == br["index"])}
        if addresses:
            iface = ipaddress.IPv4Interface("%s/%d" % addresses[0])
            found["gateway"] = str(iface)
            found["subnet"] = str(iface.network)
        for lk in all_links.values():
            if lk["kind"] == "vxlan":
                vx = lk["vxlan"]
                found.update(vxlan=lk["ifname"], vni=vx["vni"], data_port=vx["port"],
                             local=vx["local"], vxlan_mtu=lk["mtu"])
                neigh, fdb = peers.read(ipr, lk["index"])
                found["peers"] = sorted(({"ip": ip, "mac": mac, "vtep": fdb.get(mac)}
                                         for ip, mac in neigh.items()),
                                        key=lambda p: ipaddress.IPv4Address(p["ip"]))
    return found


def live_state(state_dir=task.DEFAULT_STATE_DIR):
    """The live agent's view: whether it runs (its facts are fresh), each host's status as Serf has it,
    the health of every task it knows, and its own tasks in detail."""
    try:
        with open(availability.facts_path(state_dir)) as f:
            facts = json.load(f)
    except (OSError, ValueError):
        facts = {}
    return {"running": availability.read(state_dir) is not None, "hosts": facts.get("hosts") or {},
            "members": facts.get("members") or [], "tasks": facts.get("tasks") or {},
            "local": {name: {key: report.get(key) for key in ("state", "since", "failures", "output")}
                      for name, report in (facts.get("local") or {}).items()}}


def host_state(advertise_addr=None, state_dir=task.DEFAULT_STATE_DIR):
    """Networks, endpoints, sandboxes, tasks and services of this host, plus underlay facts."""
    state = {"networks": [], "endpoints": [], "sandboxes": [], "underlay_mtu": None,
             "tasks": task.installed(state_dir), "task_specs": applied.tasks(state_dir),
             "task_checks": agent_config.probed_checks(state_dir),
             "services": registry.read(state_dir),
             "live": live_state(state_dir)}
    with dumps.Reader() as host:
        addresses = links.host_addresses(host)
        state["addresses"] = sorted(addresses)
        if advertise_addr in addresses:
            state["underlay_mtu"] = host.get_links(addresses[advertise_addr])[0].get("IFLA_MTU")
    for ns in netns.names():
        if ns.startswith(naming.NETNS_PREFIX):
            net = _network(ns)
            if net is not None:
                state["networks"].append(net)
            continue
        observed = endpoint.observe(ns)
        if observed is None or not (observed["endpoints"] or observed["owned"]):
            continue
        state["sandboxes"].append({"name": ns, "owned": observed["owned"]})
        for network, ep in sorted(observed["endpoints"].items()):
            ip = ep["address"][0].split("/")[0] if ep["address"] else None
            state["endpoints"].append({"sandbox": ns, "network": network, "ifname": ep["ifname"],
                                       "ip": ip, "address": ep["address"], "mac": ep["mac"],
                                       "mtu": ep["mtu"]})
    return state
