#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: live_agent
short_description: Membership, task health and failover on a host, between Ansible runs
version_added: 0.5.0
description:
  - The live layer of a host, what Docker Swarm does on its own between commands. Runs two supervised
    processes (systemd units where systemd is PID 1, the swarmnet supervisor elsewhere), in the host
    namespace, as the resolver of M(swarmnet.overlay.svc_dns) runs.
  - C(swarmnet-serf) is HashiCorp Serf (Debian's C(serf) package), bound to O(advertise_addr) on
    O(port) (tcp and udp), its gossip encrypted with O(key), its RPC on 127.0.0.1:O(rpc_port) behind a
    token derived from the key. It detects failed hosts (about 6 s) and carries each host's task health
    as a tag. Debian's own C(serf.service) must not run (the prereqs role stops it).
  - C(swarmnet-live) runs the healthchecks of this host's O(tasks) with Docker's semantics, joins the
    O(peers) it does not see alive, and writes what it knows to C(STATE_DIR/live/facts.json). From it,
    every sandbox's balancing (M(swarmnet.overlay.ipvs_service) records what it planned) and the resolver's
    C(tasks.NAME) and dnsrr answers hold back the tasks of failed hosts and the tasks that are not healthy,
    within seconds and without Ansible, and take them back when they recover.
  - A changed O(key), address or port restarts Serf (the host leaves and joins again); changed tasks,
    peers or services are re-read by the running agent. The module waits until the agent has read them.
  - O(state=absent) makes Serf leave the cluster (the other hosts drop this host's tasks at once), stops
    both processes and removes their configuration and the facts; balancing then follows the plan alone.
author: swarmnet developers (@swarmnet)
requirements:
  - Debian's serf package on the host (the prereqs role installs it); pyroute2 in the module's interpreter
options:
  node:
    description: This host's name in the cluster (its inventory name). Required with O(state=present).
    type: str
  advertise_addr:
    description: This host's underlay address; Serf binds to it. Required with O(state=present).
    type: str
  port:
    description: The cluster's control port (tcp and udp), open to cluster peers only (the firewall role).
    type: int
    default: 7946
  rpc_port:
    description: Port of Serf's RPC on 127.0.0.1 (of the host namespace).
    type: int
    default: 7373
  key:
    description:
      - The cluster's gossip key, 64 hex digits (AES-256), the same on every host. Required with
        O(state=present); never shown.
    type: str
  peers:
    description: Every other host of the cluster, C({name, address}).
    type: list
    elements: dict
    default: []
  tasks:
    description:
      - This host's tasks as the plan gives them (C(swarmnet_desired.live.tasks)), each with C(name),
        C(service), C(sandbox), C(address) (probed by tcp and http checks), C(healthcheck) (null means
        healthy while its process runs) and C(supervised) (false for a namespace the collection does not
        run).
    type: list
    elements: dict
    default: []
  services:
    description: The service registry (C(swarmnet_desired.services)); tells which tasks each host runs.
    type: list
    elements: dict
    default: []
  supervisor:
    description: C(auto) takes systemd where it is PID 1, the swarmnet supervisor elsewhere.
    type: str
    choices: [auto, systemd, swarmnet]
    default: auto
  wait:
    description: Seconds to wait for the agent to read its configuration.
    type: float
    default: 60.0
  let_back_held:
    description:
      - Lets back into traffic every task of this host that M(swarmnet.overlay.task_hold) holds out of it. A run
        that broke off in the middle of a rollout (the controller stopped, the host unreachable) can leave a
        task held; the live role sets this, so that the next converge lets it back.
      - Ignored with O(state=absent), which removes the file of held tasks with the rest.
    type: bool
    default: false
  state_dir:
    description: Directory of the host's swarmnet state.
    type: path
    default: /var/lib/swarmnet
  state:
    description: Whether the live layer runs on this host.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - swarmnet.overlay.attributes
"""

EXAMPLES = r"""
- name: Membership and task health
  swarmnet.overlay.live_agent:
    node: "{{ inventory_hostname }}"
    advertise_addr: "{{ swarmnet_desired.advertise_addr }}"
    peers: "{{ swarmnet_desired.live.peers }}"
    tasks: "{{ swarmnet_desired.live.tasks }}"
    services: "{{ swarmnet_desired.services }}"
    key: "{{ swarmnet_gossip_key }}"
"""

RETURN = r"""
hosts:
  description: Each cluster host's status as this host's Serf sees it (alive, failed, left, unknown).
  returned: when the agent answered
  type: dict
  sample: {"h1": "alive", "h2": "alive", "h3": "failed"}
tasks:
  description: This host's tasks and their health (healthy, starting, unhealthy, stopped).
  returned: when the agent answered
  type: dict
  sample: {"web.1": "healthy"}
actions:
  description: The changes made (or that would be made, in check mode).
  returned: always
  type: list
  elements: str
"""

import os
import shutil
import sys

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmnet.overlay.plugins.module_utils import invocation
from ansible_collections.swarmnet.overlay.plugins.module_utils.host import files, task
from ansible_collections.swarmnet.overlay.plugins.module_utils.live import hold, membership
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import naming
from ansible_collections.swarmnet.overlay.plugins.module_utils.host import live as live_layer
from ansible_collections.swarmnet.overlay.plugins.module_utils.reconcile import Changes


def _present(module, runner, changes):
    p = module.params
    why = membership.key_error(p["key"])
    if why:
        module.fail_json(msg="key=(hidden): %s" % why)
    serf = shutil.which(membership.SERF) or (membership.SERF if module.check_mode else None)
    if serf is None:
        module.fail_json(msg="serf: not found on this host; install Debian's serf package (the prereqs role does)")
    layer = live_layer.Layout(p["state_dir"], sys.executable)
    serf_config = membership.config_text(p["node"], p["advertise_addr"], p["port"], p["key"],
                                         layer.rpc_addr(p["rpc_port"]), layer.hint_command())
    agent_config = live_layer.agent_config_text(p, membership.rpc_auth(p["key"]), layer.rpc_addr(p["rpc_port"]))
    programs = layer.program_files()
    files.ensure(programs, changes, executable=layer.entry_points())
    for path in layer.obsolete():
        changes("remove %s (obsolete)" % path, os.unlink, path)
    files.ensure({layer.agent_config: agent_config}, changes, mode=0o600)
    files.ensure({layer.serf_config: serf_config}, changes, mode=0o600)
    specs = [layer.serf_spec(serf, serf_config), layer.agent_spec(programs)]
    runner.observe([spec["name"] for spec in specs])
    for spec in specs:
        runner.ensure_present(spec, changes)
    if p["let_back_held"]:
        hold.let_back_all(p["state_dir"], changes)
    if module.check_mode:
        return {}
    facts = layer.wait_loaded(agent_config, p["wait"])
    if facts is None:
        module.fail_json(msg="live_agent: the agent did not read its configuration and hear from Serf within %gs; "
                             "see %s" % (p["wait"], layer.log_hint(runner.kind)), actions=changes.done)
    return {"hosts": facts.get("hosts") or {},
            "tasks": {n: r.get("state") for n, r in (facts.get("local") or {}).items()}}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            node=dict(type="str"),
            advertise_addr=dict(type="str"),
            port=dict(type="int", default=naming.CONTROL_PORT),
            rpc_port=dict(type="int", default=membership.DEFAULT_RPC_PORT),
            key=dict(type="str", no_log=True),
            peers=dict(type="list", elements="dict", default=[]),
            tasks=dict(type="list", elements="dict", default=[]),
            services=dict(type="list", elements="dict", default=[]),
            supervisor=dict(type="str", default="auto", choices=["auto", "systemd", "swarmnet"]),
            wait=dict(type="float", default=60.0),
            let_back_held=dict(type="bool", default=False),
            state_dir=dict(type="path", default=task.DEFAULT_STATE_DIR),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        required_if=[("state", "present", ["node", "advertise_addr", "key"])],
        supports_check_mode=True,
    )
    p = module.params
    layer = live_layer.Layout(p["state_dir"], sys.executable)
    before = live_layer.shown(files.read(layer.agent_config))
    changes = Changes(module.check_mode)
    result = {}
    try:
        runner = task.backend(p["supervisor"], module.run_command, p["state_dir"], sys.executable)
        if p["state"] == "present":
            result = _present(module, runner, changes)
            after = live_layer.shown(live_layer.agent_config_text(p, "", ""))
        else:
            live_layer.remove(layer, runner, changes)
            after = ""
    except (task.TaskError, OSError, live_layer.LiveError) as exc:
        module.fail_json(msg="live_agent: %s" % exc, actions=changes.done)
    # The agent's whole configuration, twice: sent only when it differs (as restore_point does).
    module.exit_json(changed=changes.changed, actions=changes.done,
                     diff={"before": before, "after": after} if before != after else {}, **result,
                     **invocation.exit_kwargs(module))


if __name__ == "__main__":
    main()
