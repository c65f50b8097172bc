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
author: swarmnet developers (@swarmnet)
requirements:
  - pyroute2 >= 0.9 on the managed host
options:
  name:
    description: Network name; the namespace is C(swarmnet-NAME).
    type: str
    required: true
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

- name: Remove a network
  swarmnet.overlay.overlay_network:
    name: backend
    state: absent
"""

RETURN = r"""
netns:
  description: The network namespace.
  returned: always
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
  returned: always
  type: dict
  sample: {"netns": "swarmnet-ingress", "vni": 4096, "data_port": 4789, "local": "198.18.0.1",
           "bridge_mtu": 1450, "vxlan_mtu": 1450, "gateway": ["10.255.0.1/16"], "vxlan": "vx-4096"}
"""

import ipaddress

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import links, netns, network
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import naming
from ansible_collections.swarmnet.overlay.plugins.module_utils.reconcile import Changes


def _want(module):
    p = module.params
    try:
        iface = ipaddress.IPv4Interface(p["gateway"])
        ipaddress.IPv4Address(p["local"])
    except ValueError as exc:
        module.fail_json(msg="network %s: %s" % (p["name"], exc))
    if not 1 <= p["vni"] <= naming.MAX_VNI:
        module.fail_json(msg="network %s: vni=%r out of range 1-%d" % (p["name"], p["vni"], naming.MAX_VNI))
    mtu = p["mtu"]
    if mtu is None:
        with netns.rtnl() as host:
            index = links.host_addresses(host).get(p["local"])
            link = host.get_links(index)[0] if index else None
            mtu = (link.get("IFLA_MTU") if link else 1500) - naming.VXLAN_OVERHEAD
    return {"name": p["name"], "vni": p["vni"], "gateway": str(iface), "local": p["local"],
            "data_port": p["data_port"], "mtu": mtu}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            vni=dict(type="int"),
            gateway=dict(type="str"),
            local=dict(type="str"),
            data_port=dict(type="int", default=naming.DEFAULT_DATA_PORT),
            mtu=dict(type="int"),
        ),
        required_if=[("state", "present", ("vni", "gateway", "local"))],
        supports_check_mode=True,
    )
    netns.require_pyroute2(module)
    name = module.params["name"]
    changes = Changes(module.check_mode)
    before = network.summary(network.observe(name))
    try:
        if module.params["state"] == "absent":
            network.ensure_absent(name, changes)
            after = {}
        else:
            want = _want(module)
            network.preflight(want)
            network.ensure_present(want, changes)
            after = network.desired_summary(want) if module.check_mode else network.summary(network.observe(name))
    except (network.NetworkError,) + netns.KERNEL_ERRORS as exc:
        module.fail_json(msg="network %s: %s" % (name, exc), actions=changes.done)
    module.exit_json(changed=changes.changed, actions=changes.done, netns=naming.network_netns(name),
                     network=after if not module.check_mode else before,
                     diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
