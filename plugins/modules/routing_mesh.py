#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: routing_mesh
short_description: Published ports and task egress of one host (an nftables table)
version_added: 0.2.0
description:
  - Manages the host's routing-mesh table (family C(ip)) in one atomic transaction.
  - Ingress-mode ports answer on every local address of the host and are sent to the ingress
    sandbox, which balances them over every task of the service on any host (Docker's routing mesh).
  - Host-mode ports go straight to this host's tasks, keeping the client's source address.
  - Traffic from the gateway bridge's subnet leaving through another interface is masqueraded (egress).
author: swarmnet developers (@swarmnet)
requirements:
  - nft on the managed host
options:
  ingress:
    description: Ingress-mode published ports.
    type: list
    elements: dict
    default: []
    suboptions:
      protocol:
        description: Protocol.
        type: str
        choices: [tcp, udp]
        default: tcp
      port:
        description: Published port.
        type: int
        required: true
      address:
        description: The ingress sandbox's address on the gateway bridge.
        type: str
        required: true
  host:
    description: Host-mode published ports of the tasks on this host.
    type: list
    elements: dict
    default: []
    suboptions:
      protocol:
        description: Protocol.
        type: str
        choices: [tcp, udp]
        default: tcp
      port:
        description: Published port.
        type: int
        required: true
      target_port:
        description: Port the tasks listen on.
        type: int
        required: true
      backends:
        description: Gateway-bridge addresses of the local tasks (balanced round robin).
        type: list
        elements: str
        default: []
  egress_subnet:
    description: Subnet of the gateway bridge whose traffic to the outside is masqueraded.
    type: str
  bridge:
    description: The gateway bridge.
    type: str
    default: swarmnet_gwbr
  table:
    description: Name of the nftables table.
    type: str
    default: swarmnet_mesh
  state:
    description: Whether the table exists.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - swarmnet.overlay.attributes
"""

EXAMPLES = r"""
- name: Port 8080 on every host, egress for tasks
  swarmnet.overlay.routing_mesh:
    ingress: [{port: 8080, address: 172.18.0.2}]
    egress_subnet: 172.18.0.0/16
"""

RETURN = r"""
table:
  description: The table's family and name.
  returned: always
  type: str
  sample: ip swarmnet_mesh
actions:
  description: The changes made (or that would be made, in check mode).
  returned: always
  type: list
  elements: str
  version_added: 0.6.0
results:
  description: One item, the table's result (its C(name), C(changed), C(actions), or C(failed) and C(msg)).
  returned: always
  type: list
  elements: dict
  version_added: 0.6.0
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmnet.overlay.plugins.module_utils.batch import Batch
from ansible_collections.swarmnet.overlay.plugins.module_utils.steps import mesh


def main():
    module = AnsibleModule(argument_spec=mesh.OPTIONS, supports_check_mode=True)
    mesh.check(module, module.params)
    batch = Batch(module.check_mode, mesh.ERRORS)
    mesh.run(batch, module.params)
    batch.exit(module, table=mesh.label(module.params))


if __name__ == "__main__":
    main()
