# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One overlay network on one host: its namespace, br0 and VXLAN device.

The VXLAN device is created in the host namespace and then moved into the
network namespace: its UDP socket stays where it was created, and only the
host namespace reaches the underlay (LAB-NOTES).
"""

from __future__ import annotations

from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import dumps, links, netns
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import naming

VXLAN_ALIAS = "swarmnet vxlan "   # + network name; finds a half-built device in the host namespace


class NetworkError(Exception):
    pass


def _vxlan_ok(link, want):
    vx = link.get("vxlan") or {}
    return (vx.get("vni") == want["vni"] and vx.get("port") == want["data_port"]
            and vx.get("local") == want["local"] and vx.get("learning") == 0
            and vx.get("proxy") == 1)


def preflight(want, observed):
    """Refuse what would break the host: unknown local address, a VNI in use elsewhere.

    `observed` is observe()'s view of the network: when its VXLAN device is already right, nothing
    is to be created and the other namespaces need no search (a host has one per sandbox)."""
    with dumps.Reader() as host:
        addresses = links.host_addresses(host)
        if want["local"] not in addresses:
            raise NetworkError("advertise address %s is not on this host (its IPv4 addresses: %s)"
                               % (want["local"], ", ".join(sorted(addresses)) or "none"))
        own = (observed or {}).get("links", {}).get(naming.vxlan_name(want["vni"]))
        if own is not None and _vxlan_ok(own, want):
            return
        own_ns = naming.network_netns(want["name"])
        for where in [None] + [n for n in netns.names() if n != own_ns]:
            for link in _vxlan_links(where, host):
                vx = link["vxlan"]
                if vx.get("vni") == want["vni"] and vx.get("port") == want["data_port"] \
                        and link.get("alias") != VXLAN_ALIAS + want["name"]:
                    raise NetworkError("VNI %d (port %d) is already used by device %s in %s"
                                       % (want["vni"], want["data_port"], link["ifname"],
                                          "namespace " + where if where else "the host namespace"))


def _vxlan_links(where, host):
    if where is None:
        return [lk for lk in links.all_links(host) if lk["kind"] == "vxlan"]
    with dumps.Reader(where) as ipr:
        return [lk for lk in links.all_links(ipr) if lk["kind"] == "vxlan"]


def observe(name):
    """What the kernel has for network `name` on this host, or None."""
    ns = naming.network_netns(name)
    if not netns.exists(ns):
        return None
    with dumps.Reader(ns) as ipr:
        found = {"netns": ns, "links": {lk["ifname"]: lk for lk in links.all_links(ipr)}}
        br = found["links"].get(naming.BRIDGE)
        found["bridge_addresses"] = links.ipv4_addresses(ipr, br["index"]) if br else []
    return found


def summary(observed):
    """The diff-friendly view of an observed network."""
    if observed is None:
        return {}
    br = observed["links"].get(naming.BRIDGE) or {}
    vxlans = [lk for lk in observed["links"].values() if lk["kind"] == "vxlan"]
    vx = vxlans[0] if vxlans else {}
    return {
        "netns": observed["netns"],
        "links": sorted(n for n in observed["links"] if not n.startswith(naming.VETH_PREFIX)),
        "bridge_mtu": br.get("mtu"),
        "gateway": ["%s/%d" % a for a in observed["bridge_addresses"]],
        "vxlan": vx.get("ifname"),
        "vni": (vx.get("vxlan") or {}).get("vni"),
        "data_port": (vx.get("vxlan") or {}).get("port"),
        "local": (vx.get("vxlan") or {}).get("local"),
        "vxlan_mtu": vx.get("mtu"),
    }


def desired_summary(want):
    return {
        "netns": naming.network_netns(want["name"]),
        "links": sorted(["lo", naming.BRIDGE, naming.vxlan_name(want["vni"])]),
        "bridge_mtu": want["mtu"],
        "gateway": [want["gateway"]],
        "vxlan": naming.vxlan_name(want["vni"]),
        "vni": want["vni"],
        "data_port": want["data_port"],
        "local": want["local"],
        "vxlan_mtu": want["mtu"],
    }


def _leftover_vxlans(host_links, name):
    """VXLAN devices of this network still in the host namespace (an interrupted run)."""
    return [lk for lk in host_links.values() if lk["kind"] == "vxlan" and lk.get("alias") == VXLAN_ALIAS + name]


def ensure_present(want, changes, observed=None, listings=None):
    """Converge network `want` (a plan network view) on this host.

    Creating an object is one change that leaves it complete, so check mode
    predicts exactly the changes a real run makes. `observed`: observe()'s view, when the caller
    read it (and nothing changed since); `listings`: a links.Listings the networks of one run share
    for the host namespace (each network deletes only its own leftovers from it).
    """
    ns = naming.network_netns(want["name"])
    vx_name = naming.vxlan_name(want["vni"])
    create_bridge = "create %s with %s in %s" % (naming.BRIDGE, want["gateway"], ns)
    create_vxlan = "create %s (VNI %d, port %d, local %s) and move it into %s" % (
        vx_name, want["vni"], want["data_port"], want["local"], ns)
    for lk in _leftover_vxlans((listings or links.Listings()).links(None), want["name"]):
        changes("delete leftover %s in the host namespace" % lk["ifname"],
                netns.with_rtnl, None, links.delete, lk["index"])
    if not netns.exists(ns):
        changes("create namespace %s" % ns, _create_namespace, ns)
        if changes.check_mode:
            changes.predict(create_bridge)
            changes.predict(create_vxlan)
            return
    with netns.rtnl(ns) as ipr:
        current = dict(observed["links"]) if observed else {lk["ifname"]: lk for lk in links.all_links(ipr)}
        if not current["lo"]["up"]:
            changes("set lo up in %s" % ns, ipr.link, "set", index=current["lo"]["index"], state="up")
        for lk in list(current.values()):
            foreign = lk["ifname"] not in ("lo", naming.BRIDGE, vx_name) and \
                not lk["ifname"].startswith(naming.VETH_PREFIX)
            wrong_vxlan = lk["ifname"] == vx_name and not _vxlan_ok(lk, want)
            wrong_bridge = lk["ifname"] == naming.BRIDGE and lk["kind"] != "bridge"
            if foreign or wrong_vxlan or wrong_bridge:
                changes("delete %s link %s from %s" % ("foreign" if foreign else "wrong", lk["ifname"], ns),
                        links.delete, ipr, lk["index"])
                current.pop(lk["ifname"])
        if naming.BRIDGE in current:
            _repair_bridge(ipr, want, current[naming.BRIDGE], changes)
        else:
            changes(create_bridge, _create_bridge, ipr, want)
        bridge = links.by_name(ipr, naming.BRIDGE)     # None only in check mode
        if vx_name in current:
            _repair_vxlan(ipr, want, current[vx_name], bridge, changes)
        else:
            changes(create_vxlan, _create_vxlan, ipr, want, ns, vx_name)


def _create_namespace(ns):
    netns.create(ns)
    with netns.rtnl(ns) as ipr:
        ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")


def _create_bridge(ipr, want):
    ipr.link("add", ifname=naming.BRIDGE, kind="bridge", mtu=want["mtu"])
    index = ipr.link_lookup(ifname=naming.BRIDGE)[0]
    # The kernel ignores an alias given at creation: set it afterwards.
    ipr.link("set", index=index, ifalias=naming.BRIDGE_ALIAS + want["name"])
    address, prefix = want["gateway"].split("/")
    ipr.addr("add", index=index, address=address, prefixlen=int(prefix))
    ipr.link("set", index=index, state="up")


def _repair_bridge(ipr, want, br, changes):
    index = br["index"]
    if br["mtu"] != want["mtu"]:
        changes("set %s mtu %d (was %s)" % (naming.BRIDGE, want["mtu"], br["mtu"]),
                ipr.link, "set", index=index, mtu=want["mtu"])
    if br.get("alias") != naming.BRIDGE_ALIAS + want["name"]:
        changes("mark %s as network %s" % (naming.BRIDGE, want["name"]),
                ipr.link, "set", index=index, ifalias=naming.BRIDGE_ALIAS + want["name"])
    address, prefix = want["gateway"].split("/")
    have = links.ipv4_addresses(ipr, index)
    for addr, plen in have:
        if (addr, plen) != (address, int(prefix)):
            changes("remove address %s/%d from %s" % (addr, plen, naming.BRIDGE),
                    ipr.addr, "del", index=index, address=addr, prefixlen=plen)
    if (address, int(prefix)) not in have:
        changes("address %s on %s" % (want["gateway"], naming.BRIDGE),
                ipr.addr, "add", index=index, address=address, prefixlen=int(prefix))
    if not br["up"]:
        changes("set %s up" % naming.BRIDGE, ipr.link, "set", index=index, state="up")


def _create_vxlan(ipr, want, ns, vx_name):
    with netns.rtnl() as host:
        host.link("add", ifname=vx_name, kind="vxlan", vxlan_id=want["vni"],
                  vxlan_port=want["data_port"], vxlan_local=want["local"],
                  vxlan_learning=0, vxlan_proxy=1, mtu=want["mtu"])
        index = host.link_lookup(ifname=vx_name)[0]
        # Marked while in the host namespace, so a run interrupted before the move
        # finds it as its own leftover (the alias does not survive the move).
        host.link("set", index=index, ifalias=VXLAN_ALIAS + want["name"])
        host.link("set", index=index, net_ns_fd=ns)
    ipr.link("set", index=ipr.link_lookup(ifname=vx_name)[0],
             master=ipr.link_lookup(ifname=naming.BRIDGE)[0], state="up")


def _repair_vxlan(ipr, want, vx, bridge, changes):
    """An existing VXLAN device: enslaved to br0, right MTU, up."""
    if bridge is None or vx.get("master") != bridge["index"]:
        changes("attach %s to %s" % (vx["ifname"], naming.BRIDGE), lambda: ipr.link(
            "set", index=vx["index"], master=ipr.link_lookup(ifname=naming.BRIDGE)[0]))
    if vx["mtu"] != want["mtu"]:
        changes("set %s mtu %d (was %s)" % (vx["ifname"], want["mtu"], vx["mtu"]),
                ipr.link, "set", index=vx["index"], mtu=want["mtu"])
    if not vx["up"]:
        changes("set %s up" % vx["ifname"], ipr.link, "set", index=vx["index"], state="up")


def ensure_absent(name, changes):
    ns = naming.network_netns(name)
    for lk in _leftover_vxlans(links.Listings().links(None), name):
        changes("delete leftover %s in the host namespace" % lk["ifname"],
                netns.with_rtnl, None, links.delete, lk["index"])
    if netns.exists(ns):
        # Links first, synchronously: a namespace is torn down asynchronously, and
        # until then its VXLAN device holds the VNI (a re-create gets EEXIST).
        # With them go the FDB and neighbour entries and the sandbox ends of veths.
        with netns.rtnl(ns) as ipr:
            for lk in links.all_links(ipr):
                if lk["ifname"] != "lo":
                    changes("delete %s in %s" % (lk["ifname"], ns), links.delete, ipr, lk["index"])
        changes("delete namespace %s" % ns, netns.remove, ns)
