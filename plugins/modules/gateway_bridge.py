#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: gateway_bridge
short_description: The bridge joining tasks to their host (egress and published ports)
version_added: 0.2.0
description:
  - Manages a bridge in the host namespace with the gateway address of the tasks' default route,
    like Docker's C(docker_gwbridge). Sandbox ends join it through M(swarmnet.overlay.overlay_endpoint)
    (O(ignore:endpoints[].bridge)); M(swarmnet.overlay.routing_mesh) masquerades what leaves through it.
  - Turns on C(net.ipv4.ip_forward) (egress and published ports are forwarded) and
    C(route_localnet) on the bridge (a published port answers on 127.0.0.1). The C(ip_forward) value
    the host had before is kept in O(state_dir) the first time it is changed.
  - O(state=absent) removes the bridge only if the collection made it, and puts C(ip_forward) back to
    the value kept (nothing is put back when the collection never changed it).
author: swarmnet developers (@swarmnet)
requirements:
  - pyroute2 >= 0.9 on the managed host
options:
  name:
    description: Bridge name.
    type: str
    default: swarmnet_gwbr
  address:
    description: Gateway address with prefix length. Required with O(state=present).
    type: str
  state_dir:
    description: Directory of the collection's state on the host, where the value before is kept.
    type: path
    default: /var/lib/swarmnet
  state:
    description: Whether the bridge exists.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - swarmnet.overlay.attributes
"""

EXAMPLES = r"""
- name: The gateway bridge of this host
  swarmnet.overlay.gateway_bridge:
    address: 172.18.0.1/16
"""

RETURN = r"""
actions:
  description: The changes made (or that would be made, in check mode).
  returned: always
  type: list
  elements: str
bridge:
  description: The bridge after the run (before it, in check mode); empty when absent.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmnet.overlay.plugins.module_utils.batch import Batch
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import netns
from ansible_collections.swarmnet.overlay.plugins.module_utils.steps import gateway_bridge


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", default=gateway_bridge.DEFAULT_NAME),
            address=dict(type="str"),
            state_dir=dict(type="path", default="/var/lib/swarmnet"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        required_if=[("state", "present", ["address"])],
        supports_check_mode=True,
    )
    netns.require_pyroute2(module)
    p = module.params
    present = p["state"] == "present"
    gateway_bridge.check(module, p["name"], p["address"], present)
    batch = Batch(module.check_mode, gateway_bridge.ERRORS)
    gateway_bridge.run(batch, p["name"], p["address"], p["state_dir"], present)
    batch.exit(module, bridge=batch.results[0].get("bridge", {}))


if __name__ == "__main__":
    main()
