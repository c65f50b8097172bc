#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: live_wait
short_description: Wait until this host's live layer drains, serves or sees tasks stable
version_added: 0.6.0
description:
  - Reads what the host's live agent knows (C(STATE_DIR/live/facts.json)) and how each sandbox is balanced
    (C(STATE_DIR/live/lb)), again and again, until the condition holds for every task in O(tasks), or fails
    after O(timeout) seconds naming each task that is still not there and why.
  - V(drained) means this host sends the tasks no traffic. Its facts call them not healthy (held by
    M(swarmnet.overlay.task_hold), failed or stopped), and the kernel balancing of every sandbox that
    balances them is what those facts say. When no task of a service is healthy, the live layer still sends
    that service's tasks traffic (fail open), and the condition accepts that; never to a held or stopped one.
  - V(serving) means this host sends the tasks traffic again. They are healthy in its facts, and the
    balancing is applied.
  - V(stable) is for the tasks' own host. Each of them whose host is this one stays healthy (its health
    underneath any hold) with the same process for O(monitor) seconds. A task whose command exits at once
    never gets there, and its restarts reset the count.
  - Only reads. It runs the same in check mode.
author: swarmnet developers (@swarmnet)
options:
  tasks:
    description: The tasks, each with the C(host) it runs on and its C(name).
    type: list
    elements: dict
    required: true
    suboptions:
      host:
        description: The task's host, as the cluster names it.
        type: str
        required: true
      name:
        description: The task's name.
        type: str
        required: true
  condition:
    description: What to wait for.
    type: str
    choices: [drained, serving, stable]
    required: true
  pids:
    description:
      - With V(stable), the process each task must be, by name (the pid M(swarmnet.overlay.service_task) returned
        when it started it). Until the live agent reports that process, the task is not stable. A task whose
        process was replaced (it exited and was restarted) never is, so the wait fails as soon as a process
        named here has exited, as Swarm fails an update whose task exits within its monitor period.
    type: dict
    default: {}
  monitor:
    description: With V(stable), how long each task must stay healthy with one process (seconds).
    type: float
    default: 5
  timeout:
    description: Seconds to wait before failing.
    type: float
    default: 60
  state_dir:
    description: The collection's state directory on the host.
    type: path
    default: /var/lib/swarmnet
"""

EXAMPLES = r"""
- name: Every host stops sending web.2 traffic
  swarmnet.overlay.live_wait:
    tasks: [{host: h2, name: web.2}]
    condition: drained
    timeout: 30

- name: The new web.2 stays up for five seconds (on h2)
  swarmnet.overlay.live_wait:
    tasks: [{host: h2, name: web.2}]
    condition: stable
    monitor: 5
"""

RETURN = r"""
waited:
  description: Seconds waited.
  returned: always
  type: float
pending:
  description: What was not there yet when the wait ended, each C(what) and C(why) (empty on success).
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmnet.overlay.plugins.module_utils.host import task
from ansible_collections.swarmnet.overlay.plugins.module_utils.live import waits


def main():
    module = AnsibleModule(
        argument_spec=dict(
            tasks=dict(type="list", elements="dict", required=True, options=waits.TASK_OPTIONS),
            condition=dict(type="str", required=True, choices=list(waits.CONDITIONS)),
            pids=dict(type="dict", default={}),
            monitor=dict(type="float", default=5.0),
            timeout=dict(type="float", default=60.0),
            state_dir=dict(type="path", default=task.DEFAULT_STATE_DIR),
        ),
        supports_check_mode=True,
    )
    p = module.params
    for key in ("monitor", "timeout"):
        if p[key] < 0:
            module.fail_json(msg="%s=%r: must be 0 or more" % (key, p[key]))
    tasks = {(t["host"], t["name"]) for t in p["tasks"]}
    pids = {}
    for name, pid in p["pids"].items():
        try:
            pids[name] = int(pid)
        except (TypeError, ValueError):
            module.fail_json(msg="pids.%s=%r: not a process id" % (name, pid))
    if p["condition"] == waits.STABLE:
        def mine(facts):     # the tasks of this host, as its agent names it
            return [name for host, name in tasks if host == (facts or {}).get("node")]
        pending, waited, msg = waits.stable(p["state_dir"], mine, pids, p["monitor"], p["timeout"])
    else:
        pending, waited = waits.until(waits.traffic(p["state_dir"], tasks, p["condition"]), p["timeout"])
        msg = waits.failure(p["condition"], pending, "%gs" % p["timeout"]) if pending else None
    result = dict(changed=False, waited=round(waited, 2), pending=[{"what": what, "why": why} for what, why in pending])
    if pending:
        module.fail_json(msg=msg, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
