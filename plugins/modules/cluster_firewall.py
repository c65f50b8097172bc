#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cluster_firewall
short_description: Cluster ports open to cluster peers only, in an nftables table of its own
version_added: 0.1.0
description:
  - Owns one nftables table (family C(inet)). Its input chain accepts the given TCP and UDP
    ports from the peer addresses and drops them from anyone else, counting both in the named
    counters C(peer_accepted) and C(others_dropped). Nothing else of the host's firewall is touched.
  - The table is compared with the desired one in nft's own normalised form and replaced in one
    atomic transaction only when it differs.
author: swarmnet developers (@swarmnet)
requirements:
  - nft (nftables) on the managed host
options:
  peers:
    description: IPv4 addresses of the cluster peers (the inventory's advertise addresses).
    type: list
    elements: str
    default: []
  tcp_ports:
    description: TCP ports to guard.
    type: list
    elements: int
    default: [7946]
  udp_ports:
    description: UDP ports to guard (control port and every network's data port).
    type: list
    elements: int
    default: [7946, 4789]
  esp:
    description: Also guard IPsec ESP (IP protocol 50), which encrypted networks use, the same way.
    type: bool
    default: false
  table:
    description: Name of the table.
    type: str
    default: swarmnet_fw
  state:
    description: C(absent) deletes the table.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
    description: Compares only.
  diff_mode:
    support: full
    description: Shows the table before and after.
  platform:
    support: full
    platforms: linux
    description: Linux with nftables.
"""

EXAMPLES = r"""
- name: Open the cluster ports to the cluster
  swarmnet.overlay.cluster_firewall:
    peers: "{{ groups['swarmnet'] | map('extract', hostvars, 'swarmnet_advertise_addr') | list }}"
    udp_ports: [7946, 4789]
"""

RETURN = r"""
table:
  description: The table's name and family.
  returned: always
  type: str
  sample: inet swarmnet_fw
"""

import ipaddress

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import firewall, nftables


def main():
    module = AnsibleModule(
        argument_spec=dict(
            peers=dict(type="list", elements="str", default=[]),
            tcp_ports=dict(type="list", elements="int", default=[7946]),
            udp_ports=dict(type="list", elements="int", default=[7946, 4789]),
            esp=dict(type="bool", default=False),
            table=dict(type="str", default=firewall.DEFAULT_TABLE),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    for i, peer in enumerate(p["peers"]):
        try:
            ipaddress.IPv4Address(peer)
        except ValueError:
            module.fail_json(msg="peers[%d]=%r: not an IPv4 address" % (i, peer))
    for key in ("tcp_ports", "udp_ports"):
        for port in p[key]:
            if not 1 <= port <= 65535:
                module.fail_json(msg="%s: %r is not a port (1-65535)" % (key, port))
    if not module.get_bin_path("nft"):
        module.fail_json(msg="nft is not installed on this host: run the swarmnet.overlay.prereqs role")
    family, table = firewall.FAMILY, p["table"]
    body = None if p["state"] == "absent" else \
        firewall.render(table, p["peers"], p["tcp_ports"], p["udp_ports"], p["esp"])
    try:
        changed, before, after = nftables.reconcile(family, table, body, module.check_mode)
    except (nftables.NftError, OSError) as exc:
        module.fail_json(msg="table %s %s: %s" % (family, table, exc))
    module.exit_json(changed=changed, table="%s %s" % (family, table),
                     diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
