#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ipvs_service
short_description: The virtual services of a host or sandbox, balanced in the kernel
version_added: 0.2.0
description:
  - Manages the whole set of virtual services in one network namespace (the host's, a task
    sandbox's, an ingress sandbox's). Each is keyed by a firewall mark, as Docker keys its IPVS
    services; traffic to the service's VIP (every port, or one protocol and port) gets the mark,
    and marked traffic is spread over the backends by NAT.
  - Marking is an nftables table of its own. Balancing is IPVS through pyroute2 where the kernel
    has it (with the sysctls Docker sets), or an nftables C(numgen) map in the same table where it
    does not. The backend used is returned.
  - Services and backends not listed are removed; schedulers and weights are changed in place.
    nftables changes are one atomic transaction, after which tracked connections to removed backends
    (or removed VIPs) are deleted, so clients are reset and retry on a live backend instead of
    sending into the void; IPVS does the same through C(expire_nodest_conn). So are those a
    quiesced backend has not answered yet (a retried SYN is balanced again). A service left with no
    backend to take a connection refuses new ones at once (ICMP port unreachable) instead of letting
    them time out.
  - In a sandbox, backends that name their O(services[].backends[].task) and
    O(services[].backends[].host) follow the live layer (M(swarmnet.overlay.live_agent)); a backend
    whose task is unhealthy or starting, or whose host is leaving or has left the cluster, is quiesced
    (weight 0, its connections finish) and one whose host failed or was never seen is removed, unless
    no task of the service is healthy (then every task on a live host gets traffic). The planned and
    applied sets are recorded in C(STATE_DIR/live/lb/NETNS.json), from which the live agent re-applies
    them as health changes; both hold one lock, so a converge and a health change never undo each other.
  - O(sandboxes) takes many namespaces (a host's whole list) in one run, each reconciled and reported
    on its own (C(results), one diff each); a namespace that fails does not stop the others.
    O(balancing) takes the same list as the plan keeps it, each distinct set of services once.
author: swarmnet developers (@swarmnet)
requirements:
  - pyroute2 >= 0.9 and nft on the managed host
options:
  netns:
    description: Network namespace (under C(/run/netns)) to work in. Default is the host namespace.
    type: str
  sandboxes:
    description:
      - Many namespaces in one run, each with its C(sandbox) and C(services). O(backend),
        O(table), O(state_dir) and O(state) apply to each.
    type: list
    elements: dict
    suboptions:
      sandbox:
        description: Network namespace (under C(/run/netns)).
        type: str
        required: true
      services:
        description:
          - Its whole set of virtual services, each with the suboptions of O(services), checked as strictly.
          - None removes every virtual service and the table, as O(state=absent) does.
        type: list
        elements: dict
        default: []
  balancing:
    description:
      - Many namespaces in one run, as the plan keeps them (C(swarmnet_desired.lb)), each distinct set of
        virtual services once, with the C(sandboxes) that share it (every sandbox of a network balances
        the same services). Run and reported per namespace, exactly as O(sandboxes).
    type: list
    elements: dict
    version_added: 0.6.0
    suboptions:
      sandboxes:
        description: The network namespaces (under C(/run/netns)) that balance these services.
        type: list
        elements: str
        required: true
      services:
        description:
          - Their whole set of virtual services, each with the suboptions of O(services), checked as strictly.
          - An empty list removes every virtual service and the table, as O(state=absent) does.
        type: list
        elements: dict
        default: []
  services:
    description: The whole set of virtual services. Ignored when O(state=absent).
    type: list
    elements: dict
    default: []
    suboptions:
      fwmark:
        description: Firewall mark keying the service, 1 to 4294967295, unique in the namespace.
        type: int
        required: true
      vip:
        description: Virtual IP; traffic to it is marked.
        type: str
        required: true
      protocol:
        description: Protocol of O(services[].port).
        type: str
        choices: [tcp, udp]
        default: tcp
      port:
        description: Mark only this port of the VIP (a published port). Default is every port.
        type: int
      target_port:
        description: Rewrite the destination port to this one on the backends (needs O(services[].port)).
        type: int
      scheduler:
        description: C(rr) or C(random) with nftables; any IPVS scheduler with IPVS.
        type: str
        default: rr
      masquerade:
        description:
          - Source NAT balanced traffic to the namespace's address (the ingress routing mesh). The
            namespace then forwards (C(net.ipv4.ip_forward=1)), and with IPVS C(net.ipv4.vs.conntrack=1)
            is set so the masquerade sees IPVS connections, as Docker does in its ingress sandbox.
        type: bool
        default: false
      backends:
        description: Real servers. An empty list keeps the service with nowhere to send traffic.
        type: list
        elements: dict
        default: []
        suboptions:
          address:
            description: Backend IPv4 address.
            type: str
            required: true
          weight:
            description: Relative share; 0 takes no new connections and lets the ones it has finish.
            type: int
            default: 1
          task:
            description: The task behind this backend (the live layer holds it back while it is not healthy).
            type: str
          host:
            description: The inventory host the task runs on (held back while that host is down).
            type: str
  backend:
    description: How to balance. C(auto) takes IPVS when the kernel has it.
    type: str
    choices: [auto, ipvs, nftables]
    default: auto
  table:
    description: Name of the nftables table (family C(ip)).
    type: str
    default: swarmnet_lb
  state_dir:
    description: Directory of the host's swarmnet state (the live layer's facts and the balancing records).
    type: path
    default: /var/lib/swarmnet
  state:
    description: C(absent) removes every virtual service and the table.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - swarmnet.overlay.attributes
"""

EXAMPLES = r"""
- name: The VIP of service web, seen from a task's sandbox
  swarmnet.overlay.ipvs_service:
    netns: web.1
    services:
      - fwmark: 257
        vip: 10.10.1.100
        backends: [{address: 10.10.1.2}, {address: 10.10.1.3}, {address: 10.10.1.4}]

- name: Every sandbox of the host in one run
  swarmnet.overlay.ipvs_service:
    balancing: "{{ swarmnet_desired.lb }}"
"""

RETURN = r"""
backend:
  description: The balancing backend used.
  returned: when neither O(sandboxes) nor O(balancing) is given
  type: str
  sample: nftables
actions:
  description: What was (or, in check mode, would be) changed.
  returned: always
  type: list
  elements: str
services:
  description: The virtual services after the run, one line each plus one per backend.
  returned: when neither O(sandboxes) nor O(balancing) is given
  type: list
  elements: str
held_back:
  description: Planned backends the live layer holds back (task not healthy, or host down).
  returned: when neither O(sandboxes) nor O(balancing) is given
  type: list
  elements: str
  sample: ["fwmark 0x100 10.10.1.8 -> 10.10.1.6 (web.2 on h2)"]
results:
  description: One per namespace, with its C(name), C(changed), C(actions), C(backend), C(services) and C(held_back)
    (or C(failed) and C(msg)).
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmnet.overlay.plugins.module_utils.batch import Batch
from ansible_collections.swarmnet.overlay.plugins.module_utils.host import task
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import lb_nftables, netns
from ansible_collections.swarmnet.overlay.plugins.module_utils.steps import balancing


def main():
    module = AnsibleModule(
        argument_spec=dict(
            netns=dict(type="str"),
            sandboxes=dict(type="list", elements="dict", options=balancing.SANDBOXES_OPTIONS),
            balancing=dict(type="list", elements="dict", options=balancing.BALANCING_OPTIONS),
            services=balancing.SERVICES_SPEC["services"],
            backend=dict(type="str", default="auto", choices=["auto", "ipvs", "nftables"]),
            table=dict(type="str", default=lb_nftables.DEFAULT_TABLE),
            state_dir=dict(type="path", default=task.DEFAULT_STATE_DIR),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        mutually_exclusive=[("netns", "sandboxes", "balancing"), ("services", "sandboxes", "balancing")],
        supports_check_mode=True,
    )
    netns.require_pyroute2(module)
    p = module.params
    single = p["sandboxes"] is None and p["balancing"] is None
    if single:
        items = [{"sandbox": p["netns"], "services": p["services"]}]
    else:
        key = "sandboxes" if p["sandboxes"] is not None else "balancing"
        items = balancing.checked(module, key, p[key], grouped=key == "balancing")
    lb = balancing.Balancing(p["backend"], p["table"], p["state_dir"])
    batch = Batch(module.check_mode, balancing.ERRORS)
    # A list's empty set of services removes the namespace's table; the single form keeps an empty one.
    lb.run(batch, items, p["state"] == "present", empty_is_absent=not single)
    if single:
        result = batch.results[0]
        batch.exit(module, backend=result.get("backend", lb.backend), services=result.get("services", []),
                   held_back=result.get("held_back", []))
    batch.exit(module)


if __name__ == "__main__":
    main()
