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
author: swarmnet developers (@swarmnet)
requirements:
  - pyroute2 >= 0.9 on the managed host
options:
  network:
    description: Network name (namespace C(swarmnet-NETWORK)).
    type: str
    required: true
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
"""

RETURN = r"""
added:
  description: Entries added or replaced, as C(neigh IP MAC) and C(fdb MAC VTEP).
  returned: always
  type: list
  elements: str
removed:
  description: Entries removed, in the same form.
  returned: always
  type: list
  elements: str
peers:
  description: Number of peers on the device after the run.
  returned: always
  type: int
"""

import ipaddress

from ansible.module_utils.basic import AnsibleModule
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


def main():
    module = AnsibleModule(
        argument_spec=dict(
            network=dict(type="str", required=True),
            vni=dict(type="int"),
            peers=dict(type="list", elements="dict", default=[], options=dict(
                ip=dict(type="str", required=True),
                mac=dict(type="str", required=True),
                vtep=dict(type="str", required=True),
            )),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    netns.require_pyroute2(module)
    p = module.params
    ns = naming.network_netns(p["network"])
    wanted = [] if p["state"] == "absent" else p["peers"]
    for i, peer in enumerate(wanted):
        try:
            ipaddress.IPv4Address(peer["ip"])
            ipaddress.IPv4Address(peer["vtep"])
        except ValueError as exc:
            module.fail_json(msg="network %s: peers[%d]: %s" % (p["network"], i, exc))
    if not netns.exists(ns):
        if p["state"] == "absent":
            module.exit_json(changed=False, added=[], removed=[], peers=0)
        if not module.check_mode:
            module.fail_json(msg="network %s is not on this host (no namespace %s): "
                                 "apply overlay_network first" % (p["network"], ns))
        # Check mode before the network is made: every peer would be added with it.
        current = ({}, {})
        changes = peers.diff(current, peers.desired(wanted))
    else:
        with netns.rtnl(ns) as ipr:
            device = _vxlan_device(ipr, p["vni"])
            if device is None and not module.check_mode:
                module.fail_json(msg="network %s: no single VXLAN device%s in %s"
                                 % (p["network"], " vx-%s" % p["vni"] if p["vni"] else "", ns))
            current = peers.read(ipr, device["index"]) if device else ({}, {})
            changes = peers.diff(current, peers.desired(wanted))
            if any(changes[t][w] for t in changes for w in ("add", "remove")) and not module.check_mode:
                try:
                    peers.apply(ipr, device["index"], changes)
                except (peers.PeerError,) + netns.KERNEL_ERRORS as exc:
                    module.fail_json(msg="network %s: %s" % (p["network"], exc))
    added, removed = _render(changes, "add"), _render(changes, "remove")
    before = sorted("%s %s via %s" % (ip, mac, current[1].get(mac)) for ip, mac in current[0].items())
    after = sorted("%s %s via %s" % (x["ip"], x["mac"].lower(), x["vtep"]) for x in wanted)
    module.exit_json(changed=bool(added or removed), added=added, removed=removed,
                     peers=len(current[0]) if module.check_mode else len(wanted),
                     diff={"before": "".join(line + "\n" for line in before),
                           "after": "".join(line + "\n" for line in after)})


if __name__ == "__main__":
    main()
