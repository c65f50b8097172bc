#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: overlay_info
short_description: What swarmnet.overlay really has on a host
version_added: 0.1.0
description:
  - Reads the kernel, not a state file; the C(docker network inspect) of this collection.
  - Reports every overlay network (namespace, VNI, data port, local address, MTU, gateway,
    peers, bridge ports), every sandbox endpoint (network, interface, IP, MAC, MTU), the
    cluster firewall table's counters, and what the live layer knows (hosts alive or failed,
    task health).
  - The plan (M(swarmnet.overlay.cluster_plan)) keeps the allocations reported here.
author: swarmnet developers (@swarmnet)
requirements:
  - pyroute2 >= 0.9 on the managed host
options:
  advertise_addr:
    description: This host's underlay address; its link's MTU is reported as RV(underlay_mtu).
    type: str
  firewall_table:
    description: Name of the cluster firewall table (family C(inet)) whose counters are reported.
    type: str
    default: swarmnet_fw
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Reads only.
  platform:
    support: full
    platforms: linux
    description: Linux hosts.
"""

EXAMPLES = r"""
- name: Inspect the overlay on every host
  swarmnet.overlay.overlay_info:
    advertise_addr: "{{ swarmnet_advertise_addr }}"
  register: live

- name: Show the peers of the backend network
  ansible.builtin.debug:
    msg: "{{ live.networks | selectattr('name', '==', 'backend') | map(attribute='peers') | first }}"
"""

RETURN = r"""
networks:
  description: Overlay networks on this host.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "ingress", "netns": "swarmnet-ingress", "vni": 4096, "data_port": 4789,
            "local": "198.18.0.1", "mtu": 1450, "gateway": "10.255.0.1/16", "subnet": "10.255.0.0/16",
            "peers": [{"ip": "10.255.0.3", "mac": "02:42:0a:ff:00:03", "vtep": "198.18.0.2"}],
            "ports": ["swv-0123456789", "vx-4096"]}]
endpoints:
  description: Endpoints of sandboxes on this host.
  returned: always
  type: list
  elements: dict
  sample: [{"sandbox": "web-1", "network": "ingress", "ifname": "eth0", "ip": "10.255.0.2",
            "address": ["10.255.0.2/16"], "mac": "02:42:0a:ff:00:02", "mtu": 1450}]
sandboxes:
  description: Sandboxes with endpoints, and whether the collection created them.
  returned: always
  type: list
  elements: dict
tasks:
  description: Tasks this host supervises (systemd units or swarmnet supervisor specs).
  returned: always
  type: list
  elements: str
task_specs:
  description:
    - The tasks the last converge applied on this host, as M(swarmnet.overlay.service_task) took them (from
      C(STATE_DIR/applied.json)). The plan compares them with the new ones to know which tasks roll.
  returned: always
  type: list
  elements: dict
  version_added: 0.6.0
task_checks:
  description:
    - The healthcheck the live agent probes each task of this host with, by task name (from
      C(STATE_DIR/live/agent.json); empty without the live layer). A check goes with the spec a task runs, so the
      plan keeps it for a task whose spec rolls, until the rollout restarts the task.
  returned: always
  type: dict
  version_added: 0.6.0
services:
  description: The service registry this host last applied (see M(swarmnet.overlay.service_registry)).
  returned: always
  type: list
  elements: dict
underlay_mtu:
  description: MTU of the link holding O(advertise_addr), when given and found.
  returned: always
  type: int
addresses:
  description: IPv4 addresses of the host namespace.
  returned: always
  type: list
  elements: str
firewall:
  description: Named counters of the cluster firewall table, empty when it does not exist.
  returned: always
  type: dict
  sample: {"peer_accepted": 120, "others_dropped": 3}
live:
  description:
    - What this host's live agent (M(swarmnet.overlay.live_agent)) knows. C(running) is whether its facts are
      fresh; C(hosts) each cluster host's status in Serf (alive, failed, left, unknown); C(members) every member
      Serf lists, planned or not (name, address, status); C(tasks) the health of
      every task, by host (healthy, starting, unhealthy, stopped; other hosts' tasks only healthy or not);
      C(local) this host's tasks in detail (state, since when, failures in a row, the last probe's output).
  returned: always
  type: dict
  sample: {"running": true, "hosts": {"h1": "alive", "h2": "failed"},
           "tasks": {"h1": {"web.1": "healthy"}, "h2": {"web.2": "unhealthy"}},
           "local": {"web.1": {"state": "healthy", "since": 1795836474.5, "failures": 0, "output": "HTTP 200 OK"}}}
encryption:
  description:
    - IPsec state of encrypted networks, empty lists when there is none. C(sas) are the SAs the collection
      owns with their packet counts, C(policies) the outbound policies (which SPI each peer is sent with),
      C(dropped) the guard table's counters of plaintext VXLAN dropped. No key material.
  returned: always
  type: dict
  sample: {"sas": [{"src": "198.19.0.11", "dst": "198.19.0.12", "spi": 3054211523, "packets": 42}],
           "policies": [{"src": "198.19.0.11", "dst": "198.19.0.12", "spi": 3054211523}],
           "dropped": {"plaintext_in_dropped": 1, "plaintext_out_dropped": 0}}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmnet.overlay.plugins.module_utils.host import inspect
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import firewall, netns, nftables, xfrm
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import esp


def _encryption():
    sock = xfrm.XfrmSocket()
    try:
        sas, policies = xfrm.states(sock, esp.REQID), xfrm.policies(sock, esp.MARK)
    finally:
        sock.close()
    dropped = nftables.counters(esp.FAMILY, esp.TABLE) if nftables.exists(esp.FAMILY, esp.TABLE) else {}
    return {"sas": sas, "policies": policies, "dropped": dropped}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            advertise_addr=dict(type="str"),
            firewall_table=dict(type="str", default=firewall.DEFAULT_TABLE),
        ),
        supports_check_mode=True,
    )
    netns.require_pyroute2(module)
    state = inspect.host_state(module.params["advertise_addr"])
    table = module.params["firewall_table"]
    try:
        state["firewall"] = nftables.counters(firewall.FAMILY, table) \
            if nftables.exists(firewall.FAMILY, table) else {}
        state["encryption"] = _encryption()
    except (nftables.NftError,) + netns.KERNEL_ERRORS as exc:
        module.fail_json(msg="reading nftables table %s or IPsec state: %s" % (table, exc))
    module.exit_json(changed=False, **state)


if __name__ == "__main__":
    main()
