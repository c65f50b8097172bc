#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: overlay_endpoint
short_description: A sandbox (a task's network namespace) attached to overlay networks
version_added: 0.1.0
description:
  - Creates the named network namespace when it does not exist (and marks it as made by the
    collection), or uses an existing one (a Podman container's, a systemd unit's).
  - Attaches it to each listed network with a veth pair, one end on the network's C(br0), the
    other in the sandbox with the planned name, IP, MAC and MTU. Endpoints on networks no longer
    listed are removed.
  - With I(state=absent) every endpoint is removed, and the namespace too if the collection made it.
  - O(sandboxes) takes many sandboxes (a host's whole list) in one run, each reconciled and reported
    on its own (C(results), one diff each); a sandbox that fails does not stop the others.
author: swarmnet developers (@swarmnet)
requirements:
  - pyroute2 >= 0.9 on the managed host
options:
  sandbox:
    description: Name of the network namespace under C(/run/netns). One of O(sandbox) and O(sandboxes) is required.
    type: str
  sandboxes:
    description:
      - Many sandboxes in one run, each as O(sandbox) and O(endpoints) would give it (C(swarmnet_desired.sandboxes)).
        O(state) applies to each.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the network namespace under C(/run/netns).
        type: str
        required: true
      endpoints:
        description: The sandbox's whole set of endpoints, each with the suboptions of O(endpoints), checked as strictly.
        type: list
        elements: dict
        default: []
  endpoints:
    description: The sandbox's whole set of endpoints (as planned by M(swarmnet.overlay.cluster_plan)).
    type: list
    elements: dict
    default: []
    suboptions:
      network:
        description: Network name.
        type: str
        required: true
      ifname:
        description: Interface name in the sandbox.
        type: str
        required: true
      address:
        description: IPv4 address with prefix length.
        type: str
        required: true
      mac:
        description: MAC address of the sandbox end.
        type: str
        required: true
      mtu:
        description: MTU of both ends.
        type: int
        required: true
      netns:
        description: Namespace of the network. Default C(swarmnet-NETWORK).
        type: str
      bridge:
        description:
          - A bridge in the host namespace for the other end instead of the network's C(br0) (the
            gateway bridge of M(swarmnet.overlay.gateway_bridge)); O(endpoints[].netns) is then not used.
        type: str
      gateway:
        description:
          - Route the sandbox's default traffic through this address on this endpoint (egress).
            A default route the collection did not make is an error, never replaced.
        type: str
  state:
    description: Whether the sandbox is attached.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - swarmnet.overlay.attributes
"""

EXAMPLES = r"""
- name: A task on two networks
  swarmnet.overlay.overlay_endpoint:
    sandbox: web-1
    endpoints:
      - {network: ingress, ifname: eth0, address: 10.255.0.2/16, mac: "02:42:0a:ff:00:02", mtu: 1450}
      - {network: backend, ifname: eth1, address: 10.0.1.2/24, mac: "02:42:0a:00:01:02", mtu: 1450}
      - {network: gwbridge, ifname: eth2, address: 172.18.0.3/16, mac: "02:42:ac:12:00:03", mtu: 1500,
         bridge: swarmnet_gwbr, gateway: 172.18.0.1}

- name: Every sandbox of the host in one run
  swarmnet.overlay.overlay_endpoint:
    sandboxes: "{{ swarmnet_desired.sandboxes }}"
"""

RETURN = r"""
actions:
  description: The changes made (or that would be made, in check mode).
  returned: always
  type: list
  elements: str
endpoints:
  description: The sandbox's endpoints by network after the run (before it, in check mode).
  returned: when O(sandbox) is given
  type: dict
results:
  description: One per sandbox, with its C(name), C(changed), C(actions) and C(endpoints) (or C(failed) and C(msg)).
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmnet.overlay.plugins.module_utils.batch import Batch
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import netns
from ansible_collections.swarmnet.overlay.plugins.module_utils.steps import sandboxes


def main():
    module = AnsibleModule(
        argument_spec=dict(
            sandbox=dict(type="str"),
            sandboxes=dict(type="list", elements="dict", options=sandboxes.SANDBOX_OPTIONS),
            endpoints=sandboxes.ENDPOINTS_SPEC["endpoints"],
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        required_one_of=[("sandbox", "sandboxes")],
        mutually_exclusive=[("sandbox", "sandboxes")],
        supports_check_mode=True,
    )
    netns.require_pyroute2(module)
    p = module.params
    single = p["sandboxes"] is None
    if single:
        sandboxes.check_name(module, p["sandbox"], "sandbox")
        items = [{"name": p["sandbox"], "endpoints": p["endpoints"]}]
    else:
        items = sandboxes.checked(module, p["sandboxes"], "sandboxes")
    batch = Batch(module.check_mode, sandboxes.ERRORS)
    sandboxes.run(batch, items, p["state"] == "present")
    if single:
        batch.exit(module, endpoints=batch.results[0].get("endpoints", {}))
    batch.exit(module)


if __name__ == "__main__":
    main()
