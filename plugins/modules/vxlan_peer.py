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

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmnet.overlay.plugins.module_utils.batch import Batch
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import netns
from ansible_collections.swarmnet.overlay.plugins.module_utils.steps import peers


def main():
    module = AnsibleModule(
        argument_spec=dict(
            network=dict(type="str"),
            networks=dict(type="dict"),
            vni=dict(type="int"),
            peers=peers.PEERS_SPEC["peers"],
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
        sets = [(p["network"], p["vni"], peers.check_addresses(module, p["network"], p["peers"], "peers"))]
    else:
        sets = peers.checked(module, p["networks"], "networks")
    batch = Batch(module.check_mode, peers.ERRORS)
    peers.run(batch, sets, p["state"] == "present")
    if single:
        result = batch.results[0]
        batch.exit(module, added=result.get("added", []), removed=result.get("removed", []),
                   peers=result.get("peers", 0))
    batch.exit(module)


if __name__ == "__main__":
    main()
