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
results:
  description: One item, the resolver's result (its C(name), C(changed), C(actions), C(pid) and C(upstreams), or C(failed) and C(msg)).
  returned: always
  type: list
  elements: dict
  version_added: 0.6.0
"""

import sys

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmnet.overlay.plugins.module_utils.batch import Batch
from ansible_collections.swarmnet.overlay.plugins.module_utils.host import task
from ansible_collections.swarmnet.overlay.plugins.module_utils.steps import dns


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dns.OPTIONS,
            supervisor=dict(type="str", default="auto", choices=["auto", "systemd", "swarmnet"]),
            state_dir=dict(type="path", default=task.DEFAULT_STATE_DIR),
        ),
        supports_check_mode=True,
    )
    p = module.params
    dns.check(module, p)
    try:
        runner = task.backend(p["supervisor"], module.run_command, p["state_dir"], sys.executable)
    except task.TaskError as exc:
        module.fail_json(msg="svc_dns: %s" % exc)
    batch = Batch(module.check_mode, dns.ERRORS)
    result = dns.run(batch, p, runner, p["state_dir"], sys.executable)
    batch.exit(module, pid=result.get("pid"), upstreams=result.get("upstreams", []))


if __name__ == "__main__":
    main()
