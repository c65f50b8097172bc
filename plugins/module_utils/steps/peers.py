# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The peers (FDB and neighbour entries) of a host's networks, a Batch item per network: what
vxlan_peer and overlay_host run."""

from __future__ import annotations

import ipaddress

from ansible_collections.swarmnet.overlay.plugins.module_utils.batch import validated
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import links, netns, peers
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import naming

PEER_OPTIONS = dict(
    ip=dict(type="str", required=True),
    mac=dict(type="str", required=True),
    vtep=dict(type="str", required=True),
)
PEERS_SPEC = dict(peers=dict(type="list", elements="dict", default=[], options=PEER_OPTIONS))


class PeerFailure(Exception):
    pass


ERRORS = (PeerFailure, peers.PeerError) + netns.KERNEL_ERRORS


def checked(module, networks, key):
    """[(network, None, peers)] from option `key`, a mapping of network name to its peers, in name order."""
    return [(name, None, check_addresses(module, name, validated(module, PEERS_SPEC, {"peers": given},
                                                                 "%s.%s" % (key, name))["peers"], "%s.%s" % (key, name)))
            for name, given in sorted(networks.items())]


def check_addresses(module, name, wanted, where):
    for i, peer in enumerate(wanted):
        try:
            ipaddress.IPv4Address(peer["ip"])
            ipaddress.IPv4Address(peer["vtep"])
        except ValueError as exc:
            module.fail_json(msg="network %s: %s[%d]: %s" % (name, where, i, exc))
    return wanted


def run(batch, sets, present):
    """sets: [(network, vni or None for its only VXLAN device, peers)]."""
    for name, vni, wanted in sets:
        batch.run("network %s" % name, _reconcile(batch.check_mode, name, vni, wanted if present else None))


def _vxlan_device(ipr, vni):
    if vni is not None:     # by name: listing the namespace would read a veth per sandbox too
        device = links.by_name(ipr, naming.vxlan_name(vni))
        return device if device and device["kind"] == "vxlan" else None
    devices = [lk for lk in links.all_links(ipr) if lk["kind"] == "vxlan"]
    return devices[0] if len(devices) == 1 else None


def _render(changes, what):
    return ["%s %s %s" % (table, key, value) for table in ("fdb", "neigh")
            for key, value in changes[table][what]]


def _reconcile(check_mode, name, vni, wanted):
    """One network's peers (wanted None to remove them all)."""
    def reconcile(changes):
        ns = naming.network_netns(name)
        entries = wanted or []
        if not netns.exists(ns):
            if wanted is None:
                return "", "", {"added": [], "removed": [], "peers": 0}
            if not check_mode:
                raise PeerFailure("not on this host (no namespace %s): apply overlay_network first" % ns)
            # Check mode before the network is made: every peer would be added with it.
            current = ({}, {})
            diff = peers.diff(current, peers.desired(entries))
        else:
            with netns.rtnl(ns) as ipr:
                device = _vxlan_device(ipr, vni)
                if device is None and not check_mode:
                    raise PeerFailure("no single VXLAN device%s in %s" % (" vx-%s" % vni if vni else "", ns))
                current = peers.read(ipr, device["index"]) if device else ({}, {})
                diff = peers.diff(current, peers.desired(entries))
                if any(diff[t][w] for t in diff for w in ("add", "remove")) and not check_mode:
                    peers.apply(ipr, device["index"], diff)
        added, removed = _render(diff, "add"), _render(diff, "remove")
        for entry in added + removed:
            changes.record(entry)
        before = sorted("%s %s via %s" % (ip, mac, current[1].get(mac)) for ip, mac in current[0].items())
        after = sorted("%s %s via %s" % (x["ip"], x["mac"].lower(), x["vtep"]) for x in entries)
        return ("".join(line + "\n" for line in before), "".join(line + "\n" for line in after),
                {"added": added, "removed": removed, "peers": len(current[0]) if check_mode else len(entries)})
    return reconcile
