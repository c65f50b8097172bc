# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading links (bridge, VXLAN, veth) from netlink into plain dicts."""

from __future__ import annotations

import errno
import socket

from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import dumps, netns


def describe(msg):
    """A plain dict of the link attributes the collection cares about."""
    info = msg.get("IFLA_LINKINFO")
    kind = info.get("IFLA_INFO_KIND") if info else None
    data = info.get("IFLA_INFO_DATA") if info else None
    link = {
        "index": msg["index"],
        "ifname": msg.get("IFLA_IFNAME"),
        "kind": kind,
        "mtu": msg.get("IFLA_MTU"),
        "mac": msg.get("IFLA_ADDRESS"),
        "alias": msg.get("IFLA_IFALIAS"),
        "master": msg.get("IFLA_MASTER"),
        "up": bool(msg["flags"] & 1),
    }
    if kind == "vxlan" and data is not None:
        link["vxlan"] = {
            "vni": data.get("IFLA_VXLAN_ID"),
            "port": data.get("IFLA_VXLAN_PORT"),
            "local": data.get("IFLA_VXLAN_LOCAL"),
            "learning": data.get("IFLA_VXLAN_LEARNING"),
            "proxy": data.get("IFLA_VXLAN_PROXY"),
        }
    return link


def all_links(ipr):
    return [describe(m) for m in ipr.get_links()]


class Listings:
    """The links of namespaces, each listed once for a run: a namespace that holds a veth end per
    sandbox takes about 10 ms to list, and looking one link up by name lists them all. For lookups
    that the run's own changes do not alter (each caller says why)."""

    def __init__(self):
        self._links = {}

    def links(self, name):
        """{ifname: link} of namespace `name` (None: the host's)."""
        if name not in self._links:
            with dumps.Reader(name) as ipr:
                self._links[name] = {lk["ifname"]: lk for lk in all_links(ipr)}
        return self._links[name]

    def link(self, name, ifname):
        return self.links(name).get(ifname)


def by_name(ipr, ifname):
    found = ipr.link_lookup(ifname=ifname)
    if not found:
        return None
    return describe(ipr.get_links(found[0])[0])


def ipv4_addresses(ipr, index=None):
    """[(address, prefixlen)] on one link (or every link) of this namespace."""
    kwargs = {"family": socket.AF_INET}
    if index is not None:
        kwargs["index"] = index
    return sorted((a.get("IFA_ADDRESS"), a["prefixlen"]) for a in ipr.get_addr(**kwargs))


def ipv4_addresses_by_link(ipr):
    """[(address, prefixlen, ifindex)] of every link of this namespace, in one dump."""
    return [(a.get("IFA_ADDRESS"), a["prefixlen"], a["index"]) for a in ipr.get_addr(family=socket.AF_INET)]


def host_addresses(ipr):
    """{address: ifindex} for every IPv4 address of this namespace."""
    return {a.get("IFA_ADDRESS"): a["index"] for a in ipr.get_addr(family=socket.AF_INET)}


def delete(ipr, index):
    """Delete a link; one already gone (the other end of a deleted veth) is fine."""
    try:
        ipr.link("del", index=index)
    except netns.NetlinkError as exc:
        if exc.code != errno.ENODEV:
            raise
