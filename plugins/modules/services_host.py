#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: services_host
short_description: A host's services in one run - service discovery, tasks, balancing, routing mesh and registry
version_added: 0.6.0
description:
  - Does in one process, in this order, what M(swarmnet.overlay.ipvs_service) (O(drain), then
    O(absent_balancing)), M(swarmnet.overlay.service_task) (O(absent_tasks)), M(swarmnet.overlay.svc_dns)
    (O(dns)), M(swarmnet.overlay.service_task) (O(tasks)), M(swarmnet.overlay.ipvs_service) (O(balancing)),
    M(swarmnet.overlay.routing_mesh) (O(mesh)) and M(swarmnet.overlay.service_registry) (O(registry)) do
    one after another. Backends that leave are drained before their tasks stop, and a task's sandbox
    is served by the resolver before the task starts.
  - A module run costs a Python start and the pyroute2 import, seconds on a slow host; a converge
    pays it once here instead of five times.
  - Each object is reconciled and reported as the module of its kind does (C(results) of each kind,
    one diff per object). A kind whose object fails does not stop the other objects of that kind,
    but the kinds after it are not run, as the tasks after a failed task are not; their results are
    empty.
  - Every option is checked before anything changes. An option left out is not managed.
author: swarmnet developers (@swarmnet)
requirements:
  - pyroute2 >= 0.9, dnslib and nft on the managed host (the prereqs role ships them)
options:
  drain:
    description:
      - Balancing to apply first, as O(balancing) takes it (the plan's C(lb_drain), without the backends
        of the tasks that leave), so that no host sends those tasks traffic when they stop.
    type: list
    elements: dict
    suboptions:
      sandboxes:
        description: The network namespaces (under C(/run/netns)) that balance these services.
        type: list
        elements: str
        required: true
      services:
        description: Their whole set of virtual services, as in O(swarmnet.overlay.ipvs_service#module:services).
        type: list
        elements: dict
        default: []
  absent_tasks:
    description: Tasks to stop and forget, after O(drain).
    type: list
    elements: str
    default: []
  absent_balancing:
    description: Namespaces whose balancing is removed (table, virtual services, record), after O(absent_tasks).
    type: list
    elements: str
    default: []
  dns:
    description: Service discovery, as M(swarmnet.overlay.svc_dns) takes it.
    type: dict
    suboptions:
      sandboxes:
        description: As O(swarmnet.overlay.svc_dns#module:sandboxes).
        type: dict
        default: {}
      services:
        description: As O(swarmnet.overlay.svc_dns#module:services).
        type: list
        elements: dict
        default: []
      upstreams:
        description: As O(swarmnet.overlay.svc_dns#module:upstreams).
        type: list
        elements: str
      ttl:
        description: As O(swarmnet.overlay.svc_dns#module:ttl).
        type: int
        default: 5
      domain:
        description: As O(swarmnet.overlay.svc_dns#module:domain).
        type: str
      timeout:
        description: As O(swarmnet.overlay.svc_dns#module:timeout).
        type: float
        default: 2.0
      keep_program:
        description: As O(swarmnet.overlay.svc_dns#module:keep_program).
        type: bool
        default: false
      state:
        description: As O(swarmnet.overlay.svc_dns#module:state).
        type: str
        choices: [present, absent]
        default: present
  tasks:
    description: The tasks to run, as O(swarmnet.overlay.service_task#module:tasks) takes them.
    type: list
    elements: dict
    suboptions:
      name:
        description: Task name.
        type: str
        required: true
      service:
        description: The service the task belongs to.
        type: str
      sandbox:
        description: The sandbox's network namespace.
        type: str
      command:
        description: The program and its arguments.
        type: list
        elements: str
      env:
        description: As O(swarmnet.overlay.service_task#module:env).
        type: dict
      user:
        description: As O(swarmnet.overlay.service_task#module:user).
        type: str
      working_dir:
        description: As O(swarmnet.overlay.service_task#module:working_dir).
        type: str
  balancing:
    description: The virtual services of every namespace, as O(swarmnet.overlay.ipvs_service#module:balancing) takes them.
    type: list
    elements: dict
    suboptions:
      sandboxes:
        description: The network namespaces (under C(/run/netns)) that balance these services.
        type: list
        elements: str
        required: true
      services:
        description: Their whole set of virtual services, as in O(swarmnet.overlay.ipvs_service#module:services).
        type: list
        elements: dict
        default: []
  mesh:
    description: The routing mesh and egress, as M(swarmnet.overlay.routing_mesh) takes them.
    type: dict
    suboptions:
      ingress:
        description: As O(swarmnet.overlay.routing_mesh#module:ingress).
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
        description: As O(swarmnet.overlay.routing_mesh#module:host).
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
            description: Gateway-bridge addresses of the local tasks.
            type: list
            elements: str
            default: []
      egress_subnet:
        description: As O(swarmnet.overlay.routing_mesh#module:egress_subnet).
        type: str
      bridge:
        description: As O(swarmnet.overlay.routing_mesh#module:bridge).
        type: str
        default: swarmnet_gwbr
      table:
        description: As O(swarmnet.overlay.routing_mesh#module:table).
        type: str
        default: swarmnet_mesh
      state:
        description: As O(swarmnet.overlay.routing_mesh#module:state).
        type: str
        choices: [present, absent]
        default: present
  registry:
    description: The service registry, as M(swarmnet.overlay.service_registry) takes it.
    type: dict
    suboptions:
      services:
        description: As O(swarmnet.overlay.service_registry#module:services).
        type: list
        elements: dict
        default: []
      state:
        description: As O(swarmnet.overlay.service_registry#module:state).
        type: str
        choices: [present, absent]
        default: present
  supervisor:
    description: What runs the tasks and the resolver; C(auto) takes systemd where it is PID 1, the swarmnet supervisor elsewhere.
    type: str
    choices: [auto, systemd, swarmnet]
    default: auto
  backend:
    description: How to balance, as O(swarmnet.overlay.ipvs_service#module:backend).
    type: str
    choices: [auto, ipvs, nftables]
    default: auto
  table:
    description: The balancing table's name in each namespace, as O(swarmnet.overlay.ipvs_service#module:table).
    type: str
    default: swarmnet_lb
  state_dir:
    description: Directory of the host's swarmnet state.
    type: path
    default: /var/lib/swarmnet
extends_documentation_fragment:
  - swarmnet.overlay.attributes
"""

EXAMPLES = r"""
- name: The host's services as the plan has them
  swarmnet.overlay.services_host:
    dns:
      sandboxes: "{{ swarmnet_desired.dns.sandboxes }}"
      services: "{{ swarmnet_desired.services }}"
    tasks: "{{ swarmnet_desired.tasks }}"
    balancing: "{{ swarmnet_desired.lb_fill }}"
    mesh: "{{ swarmnet_desired.mesh }}"
    registry:
      services: "{{ swarmnet_desired.services }}"

- name: What leaves this host, before its sandboxes go
  swarmnet.overlay.services_host:
    drain: "{{ swarmnet_desired.lb_drain }}"
    absent_tasks: [web.3]
    absent_balancing: [web.3]

- name: Everything of it removed
  swarmnet.overlay.services_host:
    absent_tasks: [web.1, web.2]
    absent_balancing: [web.1, web.2, swarmnet_ingress_sbox]
    dns: {state: absent}
    mesh: {state: absent}
    registry: {state: absent}
"""

RETURN = r"""
actions:
  description: The changes made (or that would be made, in check mode), each after the object's name, in the order made.
  returned: always
  type: list
  elements: str
balancing:
  description:
    - One result per namespace of O(drain), O(absent_balancing) and O(balancing), in that order, as
      M(swarmnet.overlay.ipvs_service) returns in its C(results), except that a namespace lists its
      C(services) only where its balancing changed (or would, in check mode). Every sandbox balances
      every service of its networks, and a host's listings would grow with services times sandboxes.
  returned: always
  type: list
  elements: dict
tasks:
  description: One result per task of O(absent_tasks) and O(tasks), as M(swarmnet.overlay.service_task) returns in its C(results).
  returned: always
  type: list
  elements: dict
dns:
  description: The resolver's result (C(name), C(changed), C(actions), C(pid), C(upstreams)), when O(dns) is given.
  returned: always
  type: list
  elements: dict
mesh:
  description: The routing mesh table's result, when O(mesh) is given.
  returned: always
  type: list
  elements: dict
registry:
  description: The registry's result, when O(registry) is given.
  returned: always
  type: list
  elements: dict
pids:
  description: Each running task of O(tasks) by name, with its process id, as M(swarmnet.overlay.service_task) returns them.
  returned: always
  type: dict
  sample: {"web.1": 4242}
"""

import sys

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmnet.overlay.plugins.module_utils.batch import run_steps
from ansible_collections.swarmnet.overlay.plugins.module_utils.host import task
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import lb_nftables, netns
from ansible_collections.swarmnet.overlay.plugins.module_utils.steps import balancing, dns, mesh, registry, tasks

KINDS = {"balancing": balancing, "tasks": tasks, "dns": dns, "mesh": mesh, "registry": registry}


def _steps(module, pids):
    """[(kind, run(batch), or a false value for a kind with nothing to do)] in the order they run; every input is
    checked here, before any of them. The started tasks' pids go into `pids`."""
    p = module.params
    drain = balancing.checked(module, "drain", p["drain"] or [], grouped=True)
    wanted = balancing.checked(module, "balancing", p["balancing"] or [], grouped=True)
    gone_boxes = [{"sandbox": name, "services": []} for name in p["absent_balancing"]]
    gone_tasks = tasks.checked(module, [dict(dict.fromkeys(tasks.OPTIONS), name=name) for name in p["absent_tasks"]],
                               False, lambda i, _field: "absent_tasks[%d]" % i)
    specs = tasks.checked(module, p["tasks"] or [], True, lambda i, field: "tasks[%d].%s" % (i, field))
    if p["dns"] is not None:
        dns.check(module, p["dns"], "dns.")
    if p["mesh"] is not None:
        mesh.check(module, p["mesh"], "mesh.")
    if p["registry"] is not None:
        registry.check(module, p["registry"]["services"], "registry.")
    runner = _runner(module) if p["dns"] is not None or specs or gone_tasks else None
    lb = balancing.Balancing(p["backend"], p["table"], p["state_dir"], list_unchanged=False) \
        if drain or wanted or gone_boxes else None

    # A list runs when it has items; a mapping when it is given (its state may say absent).
    return [
        ("balancing", drain and (lambda batch: lb.run(batch, drain, True))),
        ("tasks", gone_tasks and (lambda batch: tasks.run(batch, runner, gone_tasks, False))),
        ("balancing", gone_boxes and (lambda batch: lb.run(batch, gone_boxes, False))),
        ("dns", p["dns"] and (lambda batch: dns.run(batch, p["dns"], runner, p["state_dir"], sys.executable))),
        ("tasks", specs and (lambda batch: pids.update(tasks.run(batch, runner, specs, True)))),
        ("balancing", wanted and (lambda batch: lb.run(batch, wanted, True))),
        ("mesh", p["mesh"] and (lambda batch: mesh.run(batch, p["mesh"]))),
        ("registry", p["registry"] and (lambda batch: registry.run(batch, p["registry"]["services"], p["state_dir"],
                                                                   p["registry"]["state"] == "present"))),
    ]


def _runner(module):
    try:
        return task.backend(module.params["supervisor"], module.run_command, module.params["state_dir"], sys.executable)
    except task.TaskError as exc:
        module.fail_json(msg="supervisor=%r: %s" % (module.params["supervisor"], exc))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            drain=dict(type="list", elements="dict", options=balancing.BALANCING_OPTIONS),
            absent_tasks=dict(type="list", elements="str", default=[]),
            absent_balancing=dict(type="list", elements="str", default=[]),
            dns=dict(type="dict", options=dns.OPTIONS),
            tasks=dict(type="list", elements="dict", options=tasks.OPTIONS),
            balancing=dict(type="list", elements="dict", options=balancing.BALANCING_OPTIONS),
            mesh=dict(type="dict", options=mesh.OPTIONS),
            registry=dict(type="dict", options=registry.OPTIONS),
            supervisor=dict(type="str", default="auto", choices=["auto", "systemd", "swarmnet"]),
            backend=dict(type="str", default="auto", choices=["auto", "ipvs", "nftables"]),
            table=dict(type="str", default=lb_nftables.DEFAULT_TABLE),
            state_dir=dict(type="path", default=task.DEFAULT_STATE_DIR),
        ),
        supports_check_mode=True,
    )
    netns.require_pyroute2(module)
    pids = {}
    run_steps(module, _steps(module, pids), {key: kind.ERRORS for key, kind in KINDS.items()}, pids=pids)


if __name__ == "__main__":
    main()
