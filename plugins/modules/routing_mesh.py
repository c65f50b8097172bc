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
"""

import ipaddress

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import mesh, nftables

PORT = dict(protocol=dict(type="str", default="tcp", choices=["tcp", "udp"]), port=dict(type="int", required=True))


def _check(module):
    p = module.params
    seen = set()
    for key in ("ingress", "host"):
        for i, item in enumerate(p[key]):
            where = "%s[%d]" % (key, i)
            for field in ("port", "target_port"):
                if field in item and not 1 <= item[field] <= 65535:
                    module.fail_json(msg="%s.%s=%r: not a port (1-65535)" % (where, field, item[field]))
            if (item["protocol"], item["port"]) in seen:
                module.fail_json(msg="%s.port=%r: %s port published twice" % (where, item["port"], item["protocol"]))
            seen.add((item["protocol"], item["port"]))
            for j, address in enumerate([item["address"]] if key == "ingress" else item["backends"]):
                try:
                    ipaddress.IPv4Address(address)
                except ValueError:
                    module.fail_json(msg="%s address %d=%r: not an IPv4 address" % (where, j, address))
    if p["egress_subnet"]:
        try:
            ipaddress.IPv4Network(p["egress_subnet"])
        except ValueError:
            module.fail_json(msg="egress_subnet=%r: not an IPv4 network" % p["egress_subnet"])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            ingress=dict(type="list", elements="dict", default=[],
                         options=dict(PORT, address=dict(type="str", required=True))),
            host=dict(type="list", elements="dict", default=[],
                      options=dict(PORT, target_port=dict(type="int", required=True),
                                   backends=dict(type="list", elements="str", default=[]))),
            egress_subnet=dict(type="str"),
            bridge=dict(type="str", default="swarmnet_gwbr"),
            table=dict(type="str", default=mesh.DEFAULT_TABLE),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    _check(module)
    if not module.get_bin_path("nft"):
        module.fail_json(msg="nft is not installed on this host: run the swarmnet.overlay.prereqs role")
    body = None if p["state"] == "absent" else \
        mesh.render(p["table"], p["bridge"], p["ingress"], p["host"], p["egress_subnet"])
    try:
        changed, before, after = nftables.reconcile(mesh.FAMILY, p["table"], body, module.check_mode)
    except (nftables.NftError, OSError) as exc:
        module.fail_json(msg="table %s %s: %s" % (mesh.FAMILY, p["table"], exc))
    module.exit_json(changed=changed, table="%s %s" % (mesh.FAMILY, p["table"]),
                     diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
