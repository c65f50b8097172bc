# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A sandbox (a task's network namespace) and its endpoints: one veth per network.

The sandbox end carries the endpoint's IP, MAC and MTU and an alias naming its
network; the other end sits on the network's br0, or, for the gateway-bridge
endpoint (egress, published ports), on a bridge in the host namespace with the
sandbox's default route through it. A sandbox the collection
created is marked by an alias on its `lo`, so `state: absent` removes only
namespaces it made (never a Podman or LXC namespace it was pointed at).
"""

from __future__ import annotations

import socket

from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import dumps, links, netns
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import naming

OWNED_ALIAS = "swarmnet sandbox"
MAIN_TABLE = 254


class EndpointError(Exception):
    pass


def observe(sandbox, routes=False):
    """{network: endpoint view} for the sandbox's endpoints, and whether we own it; with `routes`, its
    default routes too (what ensure_present checks for an egress endpoint, read on the same socket)."""
    if not netns.exists(sandbox):
        return None
    with dumps.Reader(sandbox) as ipr:
        default_routes = _default_routes(ipr) if routes else None
        all_links = links.all_links(ipr)
        lo = next((lk for lk in all_links if lk["ifname"] == "lo"), None)
        addresses = {}
        for address, prefixlen, index in sorted(links.ipv4_addresses_by_link(ipr)):
            addresses.setdefault(index, []).append("%s/%d" % (address, prefixlen))
        endpoints = {}
        for lk in all_links:
            alias = lk.get("alias") or ""
            if alias.startswith(naming.ENDPOINT_ALIAS):
                network = alias[len(naming.ENDPOINT_ALIAS):]
                endpoints[network] = {
                    "network": network,
                    "ifname": lk["ifname"],
                    "address": addresses.get(lk["index"], []),
                    "mac": lk["mac"],
                    "mtu": lk["mtu"],
                    "up": lk["up"],
                    "index": lk["index"],
                }
    return {"owned": bool(lo) and lo.get("alias") == OWNED_ALIAS, "endpoints": endpoints,
            "lo": lo and {"index": lo["index"], "up": lo["up"]}, "default_routes": default_routes}


def summary(observed):
    if observed is None:
        return {}
    return {net: {"ifname": ep["ifname"], "address": ep["address"], "mac": ep["mac"], "mtu": ep["mtu"]}
            for net, ep in sorted(observed["endpoints"].items())}


def desired_summary(endpoints):
    return {ep["network"]: {"ifname": ep["ifname"], "address": [ep["address"]],
                            "mac": ep["mac"].lower(), "mtu": ep["mtu"]}
            for ep in sorted(endpoints, key=lambda e: e["network"])}


class NetworkEnds(links.Listings):
    """The links of the namespaces that hold the other ends of sandboxes' veths (each network's, the
    host's), each listed once. A sandbox's veth names are its own, so what one sandbox's change adds
    or removes is never what another sandbox looks up."""


def ensure_present(sandbox, endpoints, changes, observed=None, ends=None):
    """`observed`: observe()'s result when the caller has it; `ends`: a NetworkEnds shared by the
    sandboxes of one run (one listing per network instead of one per endpoint)."""
    ends = ends or NetworkEnds()
    if not netns.exists(sandbox):
        changes("create sandbox namespace %s" % sandbox, _create_sandbox, sandbox)
        if changes.check_mode:
            for ep in sorted(endpoints, key=lambda e: e["network"]):
                changes.predict(_attach_text(sandbox, ep))
            for ep in endpoints:
                if ep.get("gateway"):
                    changes.predict(_route_text(sandbox, ep))
            return
    observed = observed or observe(sandbox, routes=True)
    wanted = {ep["network"]: ep for ep in endpoints}
    # Opened for a change only: what a sandbox that is right needs to know, observe() read.
    with netns.LazyRtnl(sandbox) as ipr:
        lo = observed["lo"]
        if lo and not lo["up"]:
            changes("set lo up in %s" % sandbox, ipr.link, "set", index=lo["index"], state="up")
        for network, have in sorted(observed["endpoints"].items()):
            if network not in wanted:
                changes("detach %s from network %s (delete %s)" % (sandbox, network, have["ifname"]),
                        links.delete, ipr, have["index"])
        _free_names(ipr, sandbox, observed["endpoints"], wanted, changes)
        for network, ep in sorted(wanted.items()):
            _ensure_endpoint(ipr, sandbox, ep, observed, ends, changes)


def _attach_text(sandbox, ep):
    """One description for the prediction (check mode) and the real change."""
    return "attach %s to network %s as %s %s" % (sandbox, ep["network"], ep["ifname"], ep["address"])


def _free_names(ipr, sandbox, have, wanted, changes):
    """Networks reordered: park endpoints whose name another endpoint needs under a temporary one."""
    needed = {ep["ifname"]: net for net, ep in wanted.items()}
    for network, ep in sorted(have.items()):
        holder_of = needed.get(ep["ifname"])
        if network in wanted and holder_of not in (None, network):
            temp = "swtmp%d" % ep["index"]
            changes("rename %s to %s in %s (its name goes to network %s)"
                    % (ep["ifname"], temp, sandbox, holder_of),
                    _rename, ipr, ep["index"], temp, ep["mac"])
            ep["ifname"] = temp


def _create_sandbox(sandbox):
    netns.create(sandbox)
    with netns.rtnl(sandbox) as ipr:
        index = ipr.link_lookup(ifname="lo")[0]
        ipr.link("set", index=index, ifalias=OWNED_ALIAS, state="up")


def _other_side(ep):
    """(namespace or None for the host's, bridge name) where the veth's other end goes."""
    if ep.get("bridge"):
        return None, ep["bridge"]
    return ep["netns"], naming.BRIDGE


def _ensure_endpoint(ipr, sandbox, ep, observed, ends, changes):
    have = observed["endpoints"].get(ep["network"])
    net_ns, bridge_name = _other_side(ep)
    if net_ns is not None and not netns.exists(net_ns):
        raise EndpointError("network %s is not on this host (namespace %s missing): "
                            "apply overlay_network first" % (ep["network"], net_ns))
    host_end = naming.veth_host_name(sandbox, ep["network"])
    peer, bridge = ends.link(net_ns, host_end), ends.link(net_ns, bridge_name)
    if bridge is None and net_ns is None:
        raise EndpointError("bridge %s is not in the host namespace: apply gateway_bridge first" % bridge_name)
    if have is not None and peer is None:
        changes("delete %s in %s: its network end is gone" % (have["ifname"], sandbox),
                links.delete, ipr, have["index"])
        have = None
    elif have is None and peer is not None:
        changes("delete orphan %s in %s" % (host_end, net_ns), netns.with_rtnl, net_ns, links.delete, peer["index"])
        peer = None
    if have is None:
        changes(_attach_text(sandbox, ep), netns.with_rtnl, net_ns, _create_endpoint, ipr, sandbox, ep, host_end)
    else:
        _repair_sandbox_end(ipr, sandbox, ep, have, changes)
        _repair_bridge_end(ep, peer, bridge, changes)
    if ep.get("gateway"):
        kept = have["index"] if have is not None and have["ifname"] == ep["ifname"] else None
        # What observe() read holds while this sandbox is unchanged (a deleted link takes its routes).
        routes = observed["default_routes"] if kept and not changes.changed else None
        _ensure_default_route(ipr, sandbox, ep, kept, routes, changes)


def _set_link(nipr, index, **attributes):
    nipr.link("set", index=index, **attributes)


def _repair_bridge_end(ep, peer, bridge, changes):
    net_ns, bridge_name = _other_side(ep)
    where = net_ns or "the host namespace"
    if bridge is not None and peer.get("master") != bridge["index"]:
        changes("attach %s to %s in %s" % (peer["ifname"], bridge_name, where),
                netns.with_rtnl, net_ns, _set_link, peer["index"], master=bridge["index"])
    if peer["mtu"] != ep["mtu"]:
        changes("set %s mtu %d in %s" % (peer["ifname"], ep["mtu"], where),
                netns.with_rtnl, net_ns, _set_link, peer["index"], mtu=ep["mtu"])
    if not peer["up"]:
        changes("set %s up in %s" % (peer["ifname"], where),
                netns.with_rtnl, net_ns, _set_link, peer["index"], state="up")


def _default_routes(ipr):
    """[(gateway, oif)] of the sandbox's IPv4 default routes in the main table."""
    found = []
    for route in ipr.get_routes(family=socket.AF_INET, table=MAIN_TABLE):
        if route["dst_len"] == 0 and route.get_attr("RTA_TABLE", MAIN_TABLE) == MAIN_TABLE:
            found.append((route.get_attr("RTA_GATEWAY"), route.get_attr("RTA_OIF")))
    return found


def _ensure_default_route(ipr, sandbox, ep, known_index, routes, changes):
    """known_index: the endpoint's link as observed when this run leaves its name as it is (saves a lookup);
    routes: the default routes as observed, when they still hold (None: read them now)."""
    index = [known_index] if known_index else ipr.link_lookup(ifname=ep["ifname"])
    if routes is None:
        routes = _default_routes(ipr)
    if index and (ep["gateway"], index[0]) in routes:
        return
    foreign = [gw for gw, oif in routes if not index or oif != index[0]]
    if foreign:
        raise EndpointError("sandbox already has a default route via %s that the collection did not make: "
                            "set egress: false for it" % foreign[0])
    changes(_route_text(sandbox, ep), _replace_default_route, ipr, ep)


def _route_text(sandbox, ep):
    return "default route via %s on %s in %s" % (ep["gateway"], ep["ifname"], sandbox)


def _replace_default_route(ipr, ep):
    index = ipr.link_lookup(ifname=ep["ifname"])[0]
    ipr.route("replace", dst="0.0.0.0/0", gateway=ep["gateway"], oif=index)


def _create_endpoint(nipr, ipr, sandbox, ep, host_end):
    # Both ends are made in the network namespace, then one end moves into the sandbox.
    temp = naming.veth_temp_name(host_end)
    nipr.link("add", ifname=host_end, kind="veth", peer=temp)
    index = nipr.link_lookup(ifname=temp)[0]
    nipr.link("set", index=index, net_ns_fd=sandbox)
    bridge = nipr.link_lookup(ifname=_other_side(ep)[1])[0]
    host_index = nipr.link_lookup(ifname=host_end)[0]
    nipr.link("set", index=host_index, master=bridge, mtu=ep["mtu"], state="up")
    inside = ipr.link_lookup(ifname=temp)[0]
    address, prefix = ep["address"].split("/")
    ipr.link("set", index=inside, ifname=ep["ifname"], address=ep["mac"], mtu=ep["mtu"],
             ifalias=naming.ENDPOINT_ALIAS + ep["network"])
    ipr.addr("add", index=inside, address=address, prefixlen=int(prefix))
    ipr.link("set", index=inside, state="up")


def _repair_sandbox_end(ipr, sandbox, ep, have, changes):
    index = have["index"]
    if have["ifname"] != ep["ifname"] or have["mac"] != ep["mac"].lower():
        changes("set %s in %s: name %s, mac %s" % (have["ifname"], sandbox, ep["ifname"], ep["mac"]),
                _rename, ipr, index, ep["ifname"], ep["mac"])
    if have["mtu"] != ep["mtu"]:
        changes("set %s mtu %d in %s" % (ep["ifname"], ep["mtu"], sandbox),
                ipr.link, "set", index=index, mtu=ep["mtu"])
    address, prefix = ep["address"].split("/")
    for current in have["address"]:
        if current != ep["address"]:
            addr, plen = current.split("/")
            changes("remove address %s from %s in %s" % (current, ep["ifname"], sandbox),
                    ipr.addr, "del", index=index, address=addr, prefixlen=int(plen))
    if ep["address"] not in have["address"]:
        changes("address %s on %s in %s" % (ep["address"], ep["ifname"], sandbox),
                ipr.addr, "add", index=index, address=address, prefixlen=int(prefix))
    if not have["up"]:
        changes("set %s up in %s" % (ep["ifname"], sandbox), ipr.link, "set", index=index, state="up")


def _rename(ipr, index, ifname, mac):
    ipr.link("set", index=index, state="down")
    ipr.link("set", index=index, ifname=ifname, address=mac)
    ipr.link("set", index=index, state="up")


def ensure_absent(sandbox, changes):
    observed = observe(sandbox)
    if observed is None:
        return
    # Endpoints go first: a namespace a process still holds outlives its name.
    with netns.rtnl(sandbox) as ipr:
        for network, have in sorted(observed["endpoints"].items()):
            changes("detach %s from network %s (delete %s)" % (sandbox, network, have["ifname"]),
                    links.delete, ipr, have["index"])
    if observed["owned"]:
        changes("delete sandbox namespace %s" % sandbox, netns.remove, sandbox)
