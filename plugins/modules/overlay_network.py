#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: overlay_network
short_description: One VXLAN overlay network on one host
version_added: 0.1.0
description:
  - Makes the network namespace C(swarmnet-NAME) hold C(br0) with the gateway address and a
    VXLAN device C(vx-VNI) attached to it, all with the given MTU.
  - The VXLAN device is created in the host namespace (its UDP socket must live there) with
    C(nolearning) and C(proxy), then moved into the network namespace.
  - Repairs drift; a wrong MTU or address is changed in place, a VXLAN device with a wrong VNI,
    port or local address is recreated, and links the collection did not make are removed from
    the network namespace.
  - Peers (FDB and neighbour entries) are managed by M(swarmnet.overlay.vxlan_peer).
  - O(networks) takes many networks (a host's whole list) in one run, each reconciled and reported on
    its own (C(results), one diff each); a network that fails does not stop the others.
author: swarmnet developers (@swarmnet)
requirements:
  - pyroute2 >= 0.9 on the managed host
options:
  name:
    description: Network name; the namespace is C(swarmnet-NAME). One of O(name) and O(networks) is required.
    type: str
  networks:
    description:
      - Many networks in one run, each with the O(name), O(vni), O(gateway), O(local), O(data_port) and O(mtu)
        of one network, checked as strictly. O(state) applies to each.
    type: list
    elements: dict
  state:
    description: C(absent) deletes the namespace (and with it br0, the VXLAN device, its peers and endpoint veths).
    type: str
    choices: [present, absent]
    default: present
  vni:
    description: VXLAN network identifier. Required when I(state=present).
    type: int
  gateway:
    description: Gateway address with prefix length, set on C(br0), e.g. C(10.0.1.1/24). Required when I(state=present).
    type: str
  local:
    description: This host's advertise (underlay) address, the VXLAN source. Must be an address of this host.
    type: str
  data_port:
    description: UDP port of the VXLAN data path.
    type: int
    default: 4789
  mtu:
    description: MTU of C(br0) and the VXLAN device. Default is the MTU of the link holding I(local), minus 50.
    type: int
extends_documentation_fragment:
  - swarmnet.overlay.attributes
"""

EXAMPLES = r"""
- name: Ingress network on this host
  swarmnet.overlay.overlay_network:
    name: ingress
    vni: 4096
    gateway: 10.255.0.1/16
    local: "{{ swarmnet_advertise_addr }}"
    mtu: 1450

- name: Every network of the host in one run
  swarmnet.overlay.overlay_network:
    networks:
      - {name: ingress, vni: 4096, gateway: 10.255.0.1/16, local: 198.18.0.11, mtu: 1450}
      - {name: frontend, vni: 4097, gateway: 10.10.1.1/24, local: 198.18.0.11, mtu: 1450}

- name: Remove a network
  swarmnet.overlay.overlay_network:
    name: backend
    state: absent
"""

RETURN = r"""
netns:
  description: The network namespace.
  returned: when O(name) is given
  type: str
  sample: swarmnet-ingress
actions:
  description: The changes made (or, in check mode, that would be made), in order.
  returned: always
  type: list
  elements: str
  sample: ["create namespace swarmnet-ingress", "create br0 in swarmnet-ingress"]
network:
  description: The network as the kernel has it after the run (before it, in check mode).
  returned: when O(name) is given
  type: dict
  sample: {"netns": "swarmnet-ingress", "vni": 4096, "data_port": 4789, "local": "198.18.0.1",
           "bridge_mtu": 1450, "vxlan_mtu": 1450, "gateway": ["10.255.0.1/16"], "vxlan": "vx-4096"}
results:
  description: One per network, with its C(name), C(changed), C(actions), C(netns) and C(network) (or C(failed) and C(msg)).
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmnet.overlay.plugins.module_utils.batch import Batch
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import netns
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import naming
from ansible_collections.swarmnet.overlay.plugins.module_utils.steps import networks


def main():
    module = AnsibleModule(
        argument_spec=dict(
            networks=dict(type="list", elements="dict"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            **dict(networks.SPEC, name=dict(type="str")),
        ),
        required_one_of=[("name", "networks")],
        mutually_exclusive=[("networks", key) for key in networks.SPEC if key != "data_port"],
        supports_check_mode=True,
    )
    netns.require_pyroute2(module)
    p = module.params
    present = p["state"] == "present"
    single = p["networks"] is None
    if single:
        item = {key: p[key] for key in networks.SPEC}
        wanted = [(p["name"], networks.desired(module, item, "network %s" % p["name"]) if present else None)]
    else:
        wanted = networks.checked(module, p["networks"], "networks", present)
    batch = Batch(module.check_mode, networks.ERRORS)
    networks.run(batch, wanted)
    if single:
        batch.exit(module, netns=naming.network_netns(p["name"]), network=batch.results[0].get("network", {}))
    batch.exit(module)


if __name__ == "__main__":
    main()
