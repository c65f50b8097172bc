#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: vxlan_peer
short_description: The whole set of remote peers of an overlay network on one host
version_added: 0.1.0
description:
  - For every remote endpoint of a network, a permanent neighbour entry (IP to MAC) and a
    permanent FDB entry (MAC to the remote host's VTEP address) on the network's VXLAN device.
  - The given list is the whole set. Missing entries are added, wrong ones replaced and
    stale ones removed, all in one batch of netlink messages on one socket.
  - O(networks) takes the peers of many networks (a host's whole set) in one run, each network
    reconciled and reported on its own (C(results), one diff each); one that fails does not stop the others.
author: swarmnet developers (@swarmnet)
requirements:
  - pyroute2 >= 0.9 on the managed host
options:
  network:
    description: Network name (namespace C(swarmnet-NETWORK)). One of O(network) and O(networks) is required.
    type: str
  networks:
    description:
      - The peers of many networks in one run (C(swarmnet_desired.peers)), by network name, each a list as
        O(peers), checked as strictly; each network's one VXLAN device takes them. O(state) applies to each.
    type: dict
  vni:
    description: VNI of the network, which names its VXLAN device. Default is the one VXLAN device in the namespace.
    type: int
  peers:
    description: Remote endpoints. Ignored when I(state=absent).
    type: list
    elements: dict
    default: []
    suboptions:
      ip:
        description: Endpoint IPv4 address.
        type: str
        required: true
      mac:
        description: Endpoint MAC address.
        type: str
        required: true
      vtep:
        description: Underlay address of the host the endpoint lives on.
        type: str
        required: true
  state:
    description: C(absent) removes every peer entry of the network.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - swarmnet.overlay.attributes
"""

EXAMPLES = r"""
- name: Peers of the backend network
  swarmnet.overlay.vxlan_peer:
    network: backend
    peers:
      - {ip: 10.0.1.2, mac: "02:42:0a:00:01:02", vtep: 198.18.0.2}
      - {ip: 10.0.1.3, mac: "02:42:0a:00:01:03", vtep: 198.18.0.3}

- name: Peers of every network of the host in one run
  swarmnet.overlay.vxlan_peer:
    networks: "{{ swarmnet_desired.peers }}"
"""

RETURN = r"""
added:
  description: Entries added or replaced, as C(neigh IP MAC) and C(fdb MAC VTEP).
  returned: when O(network) is given
  type: list
  elements: str
removed:
  description: Entries removed, in the same form.
  returned: when O(network) is given
  type: list
  elements: str
peers:
  description: Number of peers on the device after the run.
  returned: when O(network) is given
  type: int
results:
  description: One per network, with its C(name), C(changed), C(actions), C(added), C(removed) and C(peers)
    (or C(failed) and C(msg)).
  returned: always
  type: list
  elements: dict
"""

import ipaddress

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmnet.overlay.plugins.module_utils.batch import Batch, validated
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import links, netns, peers
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import naming


def _vxlan_device(ipr, vni):
    devices = [lk for lk in links.all_links(ipr) if lk["kind"] == "vxlan"]
    if vni is not None:
        devices = [lk for lk in devices if lk["ifname"] == naming.vxlan_name(vni)]
    return devices[0] if len(devices) == 1 else None


def _render(changes, what):
    return ["%s %s %s" % (table, key, value) for table in ("fdb", "neigh")
            for key, value in changes[table][what]]


PEERS_SPEC = dict(peers=dict(type="list", elements="dict", default=[], options=dict(
    ip=dict(type="str", required=True),
    mac=dict(type="str", required=True),
    vtep=dict(type="str", required=True),
)))


class PeerFailure(Exception):
    pass


def _checked(module, name, wanted, where):
    for i, peer in enumerate(wanted):
        try:
            ipaddress.IPv4Address(peer["ip"])
            ipaddress.IPv4Address(peer["vtep"])
        except ValueError as exc:
            module.fail_json(msg="network %s: %s[%d]: %s" % (name, where, i, exc))
    return wanted


def _reconcile(module, name, vni, wanted):
    """One network's peers: returns the reconcile function Batch runs (wanted is None to remove them all)."""
    def reconcile(changes):
        ns = naming.network_netns(name)
        entries = wanted or []
        if not netns.exists(ns):
            if wanted is None:
                return "", "", {"added": [], "removed": [], "peers": 0}
            if not module.check_mode:
                raise PeerFailure("not on this host (no namespace %s): apply overlay_network first" % ns)
            # Check mode before the network is made: every peer would be added with it.
            current = ({}, {})
            diff = peers.diff(current, peers.desired(entries))
        else:
            with netns.rtnl(ns) as ipr:
                device = _vxlan_device(ipr, vni)
                if device is None and not module.check_mode:
                    raise PeerFailure("no single VXLAN device%s in %s" % (" vx-%s" % vni if vni else "", ns))
                current = peers.read(ipr, device["index"]) if device else ({}, {})
                diff = peers.diff(current, peers.desired(entries))
                if any(diff[t][w] for t in diff for w in ("add", "remove")) and not module.check_mode:
                    peers.apply(ipr, device["index"], diff)
        added, removed = _render(diff, "add"), _render(diff, "remove")
        for entry in added + removed:
            changes.record(entry)
        before = sorted("%s %s via %s" % (ip, mac, current[1].get(mac)) for ip, mac in current[0].items())
        after = sorted("%s %s via %s" % (x["ip"], x["mac"].lower(), x["vtep"]) for x in entries)
        return ("".join(line + "\n" for line in before), "".join(line + "\n" for line in after),
                {"added": added, "removed": removed, "peers": len(current[0]) if module.check_mode else len(entries)})
    return reconcile


def main():
    module = AnsibleModule(
        argument_spec=dict(
            network=dict(type="str"),
            networks=dict(type="dict"),
            vni=dict(type="int"),
            peers=PEERS_SPEC["peers"],
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        required_one_of=[("network", "networks")],
        mutually_exclusive=[("network", "networks"), ("vni", "networks"), ("peers", "networks")],
        supports_check_mode=True,
    )
    netns.require_pyroute2(module)
    p = module.params
    single = p["networks"] is None
    if single:
        sets = [(p["network"], p["vni"], _checked(module, p["network"], p["peers"], "peers"))]
    else:
        sets = [(name, None, _checked(module, name, validated(module, PEERS_SPEC, {"peers": given},
                                                              "networks.%s" % name)["peers"], "networks.%s" % name))
                for name, given in sorted(p["networks"].items())]
    batch = Batch(module.check_mode, (PeerFailure, peers.PeerError) + netns.KERNEL_ERRORS)
    for name, vni, wanted in sets:
        batch.run("network %s" % name, _reconcile(module, name, vni, None if p["state"] == "absent" else wanted))
    if single:
        result = batch.results[0]
        batch.exit(module, added=result.get("added", []), removed=result.get("removed", []),
                   peers=result.get("peers", 0))
    batch.exit(module)


if __name__ == "__main__":
    main()
