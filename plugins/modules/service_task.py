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
  - A changed command, environment, user or working directory restarts the task. O(state=absent) stops the task and removes its unit or spec.
  - O(tasks) takes many tasks (a host's whole list) in one run, each reconciled and reported on its
    own (C(results), one diff each); a task that fails does not stop the others.
author: swarmnet developers (@swarmnet)
options:
  name:
    description: Task name (as planned, C(SERVICE.SLOT)). One of O(name) and O(tasks) is required.
    type: str
  tasks:
    description:
      - Many tasks in one run (C(swarmnet_desired.tasks)), each with the O(name), O(service), O(command) of one
        task and its sandbox as C(sandbox). O(state) applies to each.
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
        description: The sandbox's network namespace. Required with O(state=present).
        type: str
      command:
        description: The program and its arguments. Required with O(state=present).
        type: list
        elements: str
      env:
        description: The task's O(env).
        type: dict
        version_added: 0.6.0
      user:
        description: The task's O(user).
        type: str
        version_added: 0.6.0
      working_dir:
        description: The task's O(working_dir).
        type: str
        version_added: 0.6.0
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
  env:
    description: Environment variables of the process (names to strings), added to the supervisor's.
    type: dict
    version_added: 0.6.0
  user:
    description: User the process runs as (a name or a numeric id; default root). It must exist on the host.
    type: str
    version_added: 0.6.0
  working_dir:
    description: Working directory of the process (default C(/)). It must exist on the host.
    type: str
    version_added: 0.6.0
  stable_for:
    description:
      - After the tasks started, wait until each stays healthy with the process started here for this many
        seconds, as M(swarmnet.overlay.live_wait) with V(stable) and these tasks' RV(pids) waits (a rollout's
        restart and its watch in one module run). The run fails naming each task that is not, at once when a
        started process exited, after O(wait_timeout) otherwise.
      - Needs the live layer (M(swarmnet.overlay.live_agent)). Not with O(state=absent); check mode does not wait.
    type: float
    version_added: 0.6.0
  wait_timeout:
    description: Seconds to wait for O(stable_for) before failing.
    type: float
    default: 60
    version_added: 0.6.0
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
    env: {LANG: C.UTF-8}
    user: www-data
    working_dir: /srv/www

- name: Every task of the host in one run
  swarmnet.overlay.service_task:
    tasks: "{{ swarmnet_desired.tasks }}"
"""

RETURN = r"""
supervisor:
  description: Which supervisor runs the task.
  returned: always
  type: str
  sample: swarmnet
pid:
  description: The task's process id (its nsenter wrapper's for the swarmnet supervisor); null in check mode or when absent.
  returned: when O(name) is given
  type: int
pids:
  description: Each running task's process id (as RV(pid)), by task name; empty in check mode or with O(state=absent).
  returned: always
  type: dict
  sample: {"web.1": 4242}
  version_added: 0.6.0
pending:
  description: With O(stable_for), the tasks that were not stable when the wait ended, each C(what) and C(why) (empty on success).
  returned: when O(stable_for) is given and the tasks started
  type: list
  elements: dict
  version_added: 0.6.0
waited:
  description: With O(stable_for), seconds waited.
  returned: when O(stable_for) is given and the tasks started
  type: float
  version_added: 0.6.0
results:
  description: One per task, with its C(name), C(changed), C(actions) and C(pid) (or C(failed) and C(msg)).
  returned: always
  type: list
  elements: dict
actions:
  description: The changes made (or that would be made, in check mode).
  returned: always
  type: list
  elements: str
"""

import sys

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmnet.overlay.plugins.module_utils.batch import Batch
from ansible_collections.swarmnet.overlay.plugins.module_utils.host import task
from ansible_collections.swarmnet.overlay.plugins.module_utils.live import waits
from ansible_collections.swarmnet.overlay.plugins.module_utils.steps import tasks

SINGLE = ("name", "service", "netns", "command") + tasks.PROCESS     # the options of the single form


def _given(p):
    """(single, items): the single form is a list of one, its netns the item's sandbox."""
    if p["tasks"] is not None:
        return False, p["tasks"]
    return True, [dict({"sandbox": p["netns"]}, **{field: p[field] for field in SINGLE if field != "netns"})]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            {field: dict(spec, required=False) for field, spec in tasks.OPTIONS.items() if field != "sandbox"},
            netns=dict(type="str"),
            tasks=dict(type="list", elements="dict", options=tasks.OPTIONS),
            stable_for=dict(type="float"),
            wait_timeout=dict(type="float", default=60.0),
            supervisor=dict(type="str", default="auto", choices=["auto", "systemd", "swarmnet"]),
            state_dir=dict(type="path", default=task.DEFAULT_STATE_DIR),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        required_one_of=[("name", "tasks")],
        mutually_exclusive=[("tasks", field) for field in SINGLE],
        supports_check_mode=True,
    )
    p = module.params
    for key in ("stable_for", "wait_timeout"):
        if p[key] is not None and p[key] < 0:
            module.fail_json(msg="%s=%r: must be 0 or more" % (key, p[key]))
    if p["stable_for"] is not None and p["state"] == "absent":
        module.fail_json(msg="stable_for=%r: only with state=present" % p["stable_for"])
    single, given = _given(p)
    key_of = (lambda i, field: "netns" if field == "sandbox" else field) if single else \
        (lambda i, field: "tasks[%d].%s" % (i, field))
    specs = tasks.checked(module, given, p["state"] == "present", key_of)
    try:
        runner = task.backend(p["supervisor"], module.run_command, p["state_dir"], sys.executable)
    except task.TaskError as exc:
        module.fail_json(msg=str(exc))
    batch = Batch(module.check_mode, tasks.ERRORS)
    pids = tasks.run(batch, runner, specs, p["state"] == "present")
    extra = dict(supervisor=runner.kind, pids=pids)
    if single:
        extra["pid"] = batch.results[0].get("pid")
    unstable = None
    if p["stable_for"] is not None and not module.check_mode and not batch.failures:
        names = [spec["name"] for spec in specs]
        pending, waited, unstable = waits.stable(p["state_dir"], lambda facts: names, pids, p["stable_for"],
                                                 p["wait_timeout"])
        extra.update(waited=round(waited, 2), pending=[{"what": what, "why": why} for what, why in pending])
    batch.exit(module, failure=unstable, **extra)


if __name__ == "__main__":
    main()
