#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: svc_dns
short_description: Service discovery in every sandbox of a host (Docker's embedded DNS)
version_added: 0.2.0
description:
  - Runs the swarmnet resolver on the host, supervised like a task (a systemd unit where systemd is
    PID 1, the swarmnet supervisor elsewhere), in the host namespace. It listens on 127.0.0.11:53,
    UDP and TCP, inside every listed sandbox, and answers from that sandbox's networks only.
  - C(NAME) gives the service's VIP on the asker's networks (vip mode) or its tasks' addresses in a
    shuffled order (dnsrr); C(tasks.NAME) gives the tasks' addresses; PTR answers for both. Other
    types for these names get an empty answer here (NODATA) and are never forwarded. A service on a
    network the sandbox is not on is NXDOMAIN. Other names go to the upstream resolvers (UDP, TCP
    when truncated); an upstream that does not answer in O(timeout) seconds gives SERVFAIL.
  - Records are kept in C(STATE_DIR/dns.json); a change is written and the resolver re-reads it at
    once (SIGHUP), with no restart. After a restart it serves from that file.
  - Writes C(/etc/netns/SANDBOX/resolv.conf) (nameserver 127.0.0.11) for every sandbox and removes the
    ones it wrote for sandboxes no longer listed.
author: swarmnet developers (@swarmnet)
requirements:
  - dnslib and pyroute2 in the module's interpreter (the prereqs role ships both)
options:
  sandboxes:
    description: The sandboxes to serve, each with the networks it is attached to.
    type: dict
    default: {}
  services:
    description: The service registry (as planned by M(swarmnet.overlay.cluster_plan)).
    type: list
    elements: dict
    default: []
  upstreams:
    description: Upstream resolvers (IPv4). Default is the host's C(/etc/resolv.conf) nameservers.
    type: list
    elements: str
  ttl:
    description: TTL of local answers, in seconds.
    type: int
    default: 5
  domain:
    description: Optional cluster domain; C(NAME.DOMAIN) is answered too.
    type: str
  timeout:
    description: Seconds to wait for an upstream before answering SERVFAIL.
    type: float
    default: 2.0
  supervisor:
    description: C(auto) takes systemd where it is PID 1, the swarmnet supervisor elsewhere.
    type: str
    choices: [auto, systemd, swarmnet]
    default: auto
  state_dir:
    description: Directory of the host's swarmnet state.
    type: path
    default: /var/lib/swarmnet
  keep_program:
    description:
      - With C(state=absent), leave the resolver's program under C(/opt/swarmnet/libexec) in place.
      - For hosts that share one C(/opt) (the lab hosts), where another host's resolver runs the same
        program, and a host without sandboxes would take it away from under it.
    type: bool
    default: false
    version_added: 0.6.0
  state:
    description: C(absent) stops the resolver and removes its records, program and resolv.conf files.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - swarmnet.overlay.attributes
"""

EXAMPLES = r"""
- name: Service discovery in this host's sandboxes
  swarmnet.overlay.svc_dns:
    sandboxes: {task-a: [frontend, backend], web.1: [frontend]}
    services: "{{ swarmnet_desired.services }}"
    upstreams: [192.0.2.53]
"""

RETURN = r"""
pid:
  description: The resolver's process id; null in check mode or when absent.
  returned: always
  type: int
upstreams:
  description: The upstream resolvers used.
  returned: always
  type: list
  elements: str
actions:
  description: The changes made (or that would be made, in check mode).
  returned: always
  type: list
  elements: str
"""

import ipaddress
import os
import re
import sys

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.swarmnet.overlay.plugins.module_utils.host import dns_server, files, resolver, task
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import dns_records
from ansible_collections.swarmnet.overlay.plugins.module_utils.reconcile import Changes

DOMAIN_RE = re.compile(r"^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def _check(module):
    p = module.params
    for i, address in enumerate(p["upstreams"] or []):
        try:
            ipaddress.IPv4Address(address)
        except ValueError:
            module.fail_json(msg="upstreams[%d]=%r: not an IPv4 address" % (i, address))
    if p["domain"] is not None and not DOMAIN_RE.match(p["domain"]):
        module.fail_json(msg="domain=%r: not a DNS name of lower-case labels" % p["domain"])
    if not 0 <= p["ttl"] <= 86400:
        module.fail_json(msg="ttl=%r: must be 0-86400" % p["ttl"])
    if not 0 < p["timeout"] <= 30:
        module.fail_json(msg="timeout=%r: must be more than 0 and at most 30 seconds" % p["timeout"])
    for name, networks in p["sandboxes"].items():
        if not isinstance(networks, list):
            module.fail_json(msg="sandboxes[%r]=%r: must be a list of network names" % (name, networks))
    for i, svc in enumerate(p["services"]):
        if not isinstance(svc.get("name"), str):
            module.fail_json(msg="services[%d].name=%r: every entry needs a name" % (i, svc.get("name")))


def _absent(runner, state_dir, keep_program, changes):
    runner.ensure_absent(resolver.TASK_NAME, changes)
    path = dns_server.config_path(state_dir)
    if os.path.exists(path):
        changes("remove %s" % path, os.unlink, path)
    resolver.ensure_resolv_confs({}, None, changes)
    resolver.forget_loaded(changes, state_dir)
    if not keep_program:
        resolver.remove_program(changes)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            sandboxes=dict(type="dict", default={}),
            services=dict(type="list", elements="dict", default=[]),
            upstreams=dict(type="list", elements="str"),
            ttl=dict(type="int", default=dns_records.DEFAULT_TTL),
            domain=dict(type="str"),
            timeout=dict(type="float", default=dns_server.DEFAULT_TIMEOUT),
            supervisor=dict(type="str", default="auto", choices=["auto", "systemd", "swarmnet"]),
            state_dir=dict(type="path", default=task.DEFAULT_STATE_DIR),
            keep_program=dict(type="bool", default=False),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    if dns_records.A is None:
        module.fail_json(msg=missing_required_lib("dnslib") + " Run the swarmnet.overlay.prereqs role first.")
    _check(module)
    p = module.params
    upstreams = p["upstreams"] if p["upstreams"] is not None else resolver.host_upstreams()
    config_path = dns_server.config_path(p["state_dir"])
    before = files.read(config_path) or ""
    changes = Changes(module.check_mode)
    pid = None
    try:
        runner = task.backend(p["supervisor"], module.run_command, p["state_dir"], sys.executable)
        if p["state"] == "absent":
            _absent(runner, p["state_dir"], p["keep_program"], changes)
            after = ""
        else:
            after = resolver.config_text(p["sandboxes"], p["services"], upstreams, p["ttl"], p["domain"],
                                         p["timeout"])
            program = resolver.program_files()
            files.ensure(program, changes)
            records_changed = files.ensure({config_path: after}, changes)
            resolver.ensure_resolv_confs(p["sandboxes"], p["domain"], changes)
            started = len(changes.done)
            pid = runner.ensure_present(resolver.task_spec(sys.executable, p["state_dir"], program), changes)
            if records_changed and len(changes.done) == started and pid is not None:
                changes("reload the resolver (SIGHUP to %d)" % pid, resolver.reload, pid)
            if not module.check_mode and not resolver.wait_served(p["state_dir"], after, p["sandboxes"]):
                module.fail_json(msg="svc_dns: the resolver (pid %s) did not load its records within %d s; see %s"
                                 % (pid, resolver.LOAD_WAIT, os.path.join(p["state_dir"], "tasks", resolver.TASK_NAME + ".log")),
                                 actions=changes.done)
    except (task.TaskError, OSError) as exc:
        module.fail_json(msg="svc_dns: %s" % exc, actions=changes.done)
    module.exit_json(changed=changes.changed, pid=pid, upstreams=upstreams, actions=changes.done,
                     diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
