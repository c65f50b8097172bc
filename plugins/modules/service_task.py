#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: service_task
short_description: A task's process, supervised in its sandbox
version_added: 0.2.0
description:
  - Runs a command in a sandbox (a network namespace under C(/run/netns)) and keeps it running.
  - Where systemd is PID 1, the task is a unit C(swarmnet-task-NAME.service) with
    C(NetworkNamespacePath=) and C(Restart=always).
  - Elsewhere (containers, the collection's lab hosts) the swarmnet supervisor keeps it running, a
    small program (Python standard library and C(nsenter) only) started once per host, which restarts
    tasks that exit (with a back-off when they exit at once), writes their output to
    C(STATE_DIR/tasks/NAME.log), and exits by itself when it has no task left.
  - A changed command restarts the task. O(state=absent) stops the task and removes its unit or spec.
author: swarmnet developers (@swarmnet)
options:
  name:
    description: Task name (as planned, C(SERVICE.SLOT)).
    type: str
    required: true
  service:
    description: The service the task belongs to (for descriptions and unit names).
    type: str
  netns:
    description: The sandbox's network namespace. Required with O(state=present).
    type: str
  command:
    description: The program and its arguments. Required with O(state=present).
    type: list
    elements: str
  supervisor:
    description: C(auto) takes systemd where it is PID 1, the swarmnet supervisor elsewhere.
    type: str
    choices: [auto, systemd, swarmnet]
    default: auto
  state_dir:
    description: Where the swarmnet supervisor keeps task specs, status and logs.
    type: path
    default: /var/lib/swarmnet
  state:
    description: Whether the task runs.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - swarmnet.overlay.attributes
"""

EXAMPLES = r"""
- name: Task 1 of service web
  swarmnet.overlay.service_task:
    name: web.1
    service: web
    netns: web.1
    command: [python3, -m, http.server, "80"]
"""

RETURN = r"""
supervisor:
  description: Which supervisor runs the task.
  returned: always
  type: str
  sample: swarmnet
pid:
  description: The task's process id (its nsenter wrapper's for the swarmnet supervisor); null in check mode or when absent.
  returned: always
  type: int
actions:
  description: The changes made (or that would be made, in check mode).
  returned: always
  type: list
  elements: str
"""

import os
import sys

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmnet.overlay.plugins.module_utils.host import task
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import plan
from ansible_collections.swarmnet.overlay.plugins.module_utils.reconcile import Changes


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            service=dict(type="str"),
            netns=dict(type="str"),
            command=dict(type="list", elements="str"),
            supervisor=dict(type="str", default="auto", choices=["auto", "systemd", "swarmnet"]),
            state_dir=dict(type="path", default=task.DEFAULT_STATE_DIR),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        required_if=[("state", "present", ["netns", "command"])],
        supports_check_mode=True,
    )
    p = module.params
    for key in ("name", "netns"):
        if p[key] is not None and not plan.SANDBOX_RE.match(p[key]):
            module.fail_json(msg="%s=%r: not a valid task or namespace name" % (key, p[key]))
    if p["state"] == "present" and not p["command"]:
        module.fail_json(msg="command=%r: give the program and its arguments" % p["command"])
    if p["state"] == "present" and not os.path.exists("/run/netns/" + p["netns"]) and not module.check_mode:
        module.fail_json(msg="netns=%r: no such network namespace (create the sandbox first)" % p["netns"])
    changes = Changes(module.check_mode)
    try:
        runner = task.backend(p["supervisor"], module.run_command, p["state_dir"], sys.executable)
        before = runner.describe(p["name"])
        pid = None
        if p["state"] == "present":
            spec = {"name": p["name"], "service": p["service"] or p["name"].split(".")[0],
                    "netns": p["netns"], "command": p["command"]}
            pid = runner.ensure_present(spec, changes)
        else:
            runner.ensure_absent(p["name"], changes)
        if not module.check_mode:
            after = runner.describe(p["name"])
        else:
            after = runner.render(spec) if p["state"] == "present" else ""
    except (task.TaskError, OSError) as exc:
        module.fail_json(msg="task %s: %s" % (p["name"], exc), actions=changes.done)
    module.exit_json(changed=changes.changed, supervisor=runner.kind, pid=pid, actions=changes.done,
                     diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
