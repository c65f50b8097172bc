#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cluster_plan
short_description: Validate the swarmnet inventory and plan every host's desired state
version_added: 0.1.0
description:
  - Runs on the controller (an action plugin); changes nothing anywhere.
  - Reads, for every host in O(hosts), C(swarmnet_advertise_addr) (falling back to
    C(ansible_default_ipv4.address)), C(swarmnet_underlay_mtu), C(swarmnet_sandboxes) and the
    live state registered from M(swarmnet.overlay.overlay_info) in the variable named by O(live_var).
  - Validates everything and fails listing every problem, each naming host, key and value,
    before any host is touched. First the shapes - every key, at every depth, and its type - against
    the C(swarmnet.overlay.plan) role's argument spec, which documents them; an unknown key is named with
    the nearest known one. Then the values.
  - Allocates VNIs (ingress 4096, user networks from 4097), subnets, gateways, endpoint IPs and
    MACs, service VIPs and fwmarks, keeping every allocation a host reports. Same input, same plan.
  - Warns, in check mode too, when a network's pool or a host's gateway bridge has fewer than 10 % or
    fewer than 8 addresses free, naming it with the addresses used and free; a pool with none left is an error.
  - Inventory groups named in a service's C(placement) are read from C(groups).
author: swarmnet developers (@swarmnet)
options:
  networks:
    description:
      - The cluster's networks. Each has C(name), and optionally C(subnet), C(gateway), C(vni),
        C(ingress) (at most one), C(data_port) (default 4789), C(mtu), C(state).
    type: list
    elements: dict
    required: true
  ingress:
    description:
      - The ingress network (C(swarmnet_ingress)), with the keys of a network; C(ingress) is implied.
        Errors about it name C(swarmnet_ingress), errors about O(networks) name C(swarmnet_networks[N]).
    type: dict
  services:
    description:
      - The cluster's services (C(swarmnet_services)); see the C(swarmnet.overlay.plan) role for their
        keys. Tasks become sandboxes; VIPs, fwmarks, the ingress sandboxes, the gateway bridge, what
        every sandbox balances and the routing mesh of every host are planned from them.
    type: list
    elements: dict
    default: []
  gwbridge_subnet:
    description: Subnet of each host's gateway bridge (host-local, the same on every host).
    type: str
    default: 172.18.0.0/16
  dns:
    description: Service discovery settings (C(domain), C(ttl), C(upstreams)), validated here.
    type: dict
    default: {}
  hosts:
    description: Hosts of the cluster, including hosts outside the play (C(--limit)), which stay peers. Default is every host of the play.
    type: list
    elements: str
  live_var:
    description: Name of the host variable holding each host's registered M(swarmnet.overlay.overlay_info) result.
    type: str
    default: swarmnet_live
  live_results:
    description:
      - Results of M(swarmnet.overlay.overlay_info) run by delegation on hosts outside the play
        (each with C(item) naming the host), as registered from a loop.
    type: list
    elements: dict
    default: []
  features_var:
    description:
      - Name of the host variable holding each host's registered M(swarmnet.overlay.kernel_features)
        result; hosts with an encrypted network must have reported C(esp=true).
    type: str
    default: swarmnet_kernel
  require_keyring:
    description:
      - Refuse encrypted networks when C(swarmnet_encryption_keyring) is missing. The keyring is read
        from the task's variables, never passed as a parameter.
    type: bool
    default: true
  require_gossip_key:
    description:
      - Refuse the plan when C(swarmnet_gossip_key), the live layer's cluster key, is missing. The key is
        read from the task's variables, never passed as a parameter; when present it is checked (64 hex
        digits) and never shown.
    type: bool
    default: false
  start_first:
    description:
      - How services with C(update_config.order=start-first) plan a task whose spec changed.
      - V(begin) gives the new task the slot's other name (C(web.1) and C(web.1.b) take turns), with its
        own sandbox and address, beside the old task, which keeps the spec it runs with; the pairs are
        returned in C(plan.handover) for the play to hand over.
      - V(settle) plans each slot with the task that runs, on the spec it runs with. It is the plan a play
        makes after a handover, once the old tasks (or, where the new ones failed, the new ones) have stopped.
      - V(in_place) restarts the task in place, as stop-first does. It is for a cluster without the live
        layer, which is what a handover waits on.
    type: str
    choices: [begin, settle, in_place]
    default: begin
    version_added: 0.6.0
attributes:
  action:
    support: full
    description: Runs on the controller.
  check_mode:
    support: full
    description: Never changes anything.
  diff_mode:
    support: none
    description: Returns the plan instead.
  platform:
    support: full
    platforms: all
    description: Controller only.
"""

EXAMPLES = r"""
- name: Plan the cluster once
  swarmnet.overlay.cluster_plan:
    networks:
      - {name: ingress, ingress: true, subnet: 10.255.0.0/16}
      - {name: backend, subnet: 10.0.1.0/24}
  run_once: true
  register: swarmnet_plan
"""

RETURN = r"""
plan:
  description:
    - C(hosts) maps each host to its desired state (networks, sandboxes with endpoints, peers per network,
      networks and sandboxes to remove).
    - C(rollout) lists the batches in which running tasks whose spec changed restart (stop-first).
    - C(handover) lists, per start-first service, the new tasks started beside their old ones, in C(tasks)
      and C(previous) (each C(host) and C(name), new and old in the same order), C(new) and C(old) (task
      names by host), with the service's C(failure_action), C(monitor) and C(settle), the seconds the new
      tasks have to become stable.
  returned: success
  type: dict
errors:
  description: Every problem found, each naming host, key and value.
  returned: failure
  type: list
  elements: str
"""
