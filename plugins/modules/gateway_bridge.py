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

import ipaddress

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import gwbridge, netns
from ansible_collections.swarmnet.overlay.plugins.module_utils.reconcile import Changes


def _read(name):
    with netns.rtnl() as ipr:
        return gwbridge.summary(gwbridge.observe(ipr, name))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", default="swarmnet_gwbr"),
            address=dict(type="str"),
            state_dir=dict(type="path", default="/var/lib/swarmnet"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        required_if=[("state", "present", ["address"])],
        supports_check_mode=True,
    )
    netns.require_pyroute2(module)
    p = module.params
    if len(p["name"]) > 15:
        module.fail_json(msg="name=%r: longer than the kernel's 15 characters" % p["name"])
    if p["state"] == "present":
        try:
            iface = ipaddress.IPv4Interface(p["address"])
        except ValueError:
            iface = None
        if iface is None or "/" not in p["address"] or iface.ip in (iface.network.network_address,
                                                                    iface.network.broadcast_address):
            module.fail_json(msg="address=%r: not an IPv4 host address with prefix length" % p["address"])
    changes = Changes(module.check_mode)
    try:
        before = _read(p["name"])
        if p["state"] == "absent":
            gwbridge.ensure_absent(p["name"], changes, p["state_dir"])
            after = {} if changes.changed else before
        else:
            gwbridge.ensure_present(p["name"], p["address"], changes, p["state_dir"])
            after = {"name": p["name"], "addresses": [p["address"]], "up": True} if module.check_mode \
                else _read(p["name"])
    except (gwbridge.GatewayBridgeError,) + netns.KERNEL_ERRORS as exc:
        module.fail_json(msg="bridge %s: %s" % (p["name"], exc), actions=changes.done)
    module.exit_json(changed=changes.changed, actions=changes.done,
                     bridge=before if module.check_mode else after,
                     diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
