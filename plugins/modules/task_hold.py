#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: task_hold
short_description: Hold tasks of this host out of traffic, or let them back
version_added: 0.6.0
description:
  - Writes the names of this host's tasks that a rollout holds out of traffic to C(STATE_DIR/live/held.json),
    and tells the host's live agent on its socket that the file changed. The agent then tells every host that
    those tasks are not healthy. Every VIP and every DNS
    answer on every host drops them, in the same way as for a failed healthcheck. Their process keeps running
    and their health is still probed underneath, so a rollout can wait until every host has drained them
    (O(wait_for)), restart them, and wait until they are healthy again (M(swarmnet.overlay.live_wait)).
  - O(state=absent) lets the named tasks back (all of this host's when O(tasks) is not given). The agent then
    announces their health as it is.
  - With O(wait_for) it then waits, as M(swarmnet.overlay.live_wait) does, until this host sends those tasks no
    traffic (V(present), the condition V(drained)) or sends them traffic again (V(absent), V(serving)). Run on
    every host at once, with O(tasks) naming each host's own ones (none elsewhere), it is a rollout step's
    hold and drain, or its let-back and fill, in one module run per host.
  - Needs the live layer (the live role). Without it nothing reads the file.
  - A hold lasts until it is let back or until the live role's next converge, which lets back every held task
    (M(swarmnet.overlay.live_agent) with O(swarmnet.overlay.live_agent#module:let_back_held)). A rollout holds
    and lets back within one run.
  - In check mode nothing is written and nothing is waited for.
author: swarmnet developers (@swarmnet)
options:
  tasks:
    description:
      - Names of tasks of this host (C(SERVICE.SLOT)). An empty list holds or lets back none.
      - Not given with O(state=absent), every task held on this host is let back.
    type: list
    elements: str
  state:
    description: V(present) holds the tasks, V(absent) lets them back.
    type: str
    choices: [present, absent]
    default: present
  wait_for:
    description:
      - Tasks of any host, each with the C(host) it runs on and its C(name), that this host must send no
        traffic (V(present)) or traffic again (V(absent)) before the module returns. Empty, it does not wait.
    type: list
    elements: dict
    default: []
    suboptions:
      host:
        description: The task's host, as the cluster names it.
        type: str
        required: true
      name:
        description: The task's name.
        type: str
        required: true
  healthchecks:
    description:
      - With V(present), the healthcheck each task named in O(tasks) is probed with from this hold on, by task name,
        that is the check of the spec a rollout step restarts it on, as the plan gives it (C(checks) and
        C(previous_checks) of a batch of C(swarmnet_rollout)); null for none. A check goes with the spec a task
        runs, as a container's goes with its image, so a task still on its previous spec is not probed with the new
        one, nor one rolled back.
      - They are written into the live agent's configuration (C(STATE_DIR/live/agent.json)), and the module waits (up
        to O(wait_timeout)) until the agent has read it. Tasks the agent does not watch are left out. The live role's
        next converge writes the plan's checks again, which keeps a task's check until its spec rolls.
    type: dict
    version_added: 0.6.0
  wait_timeout:
    description:
      - Seconds to wait for O(wait_for) before failing, naming each task that is not there yet and why.
      - Also how long the agent may take to read the O(healthchecks).
    type: float
    default: 60
  state_dir:
    description: The collection's state directory on the host.
    type: path
    default: /var/lib/swarmnet
"""

EXAMPLES = r"""
- name: Hold web.2 out of every VIP and DNS answer
  swarmnet.overlay.task_hold:
    tasks: [web.2]

- name: Let it back
  swarmnet.overlay.task_hold:
    tasks: [web.2]
    state: absent

- name: Hold web.2 on its host (h2), and wait until every host sends it no traffic
  swarmnet.overlay.task_hold:
    tasks: "{{ ['web.2'] if inventory_hostname == 'h2' else [] }}"
    wait_for: [{host: h2, name: web.2}]
    wait_timeout: 30

- name: Hold web.2, to be restarted on a spec whose healthcheck is a TCP connect to port 8080
  swarmnet.overlay.task_hold:
    tasks: [web.2]
    healthchecks:
      web.2: {kind: tcp, port: 8080, interval: 5.0, timeout: 2.0, retries: 3, start_period: 0.0, start_interval: 5.0}
"""

RETURN = r"""
held:
  description: The tasks held on this host after the run (what would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [web.2]
waited:
  description: Seconds waited for O(wait_for).
  returned: always
  type: float
pending:
  description: What was not there yet when the wait ended, each C(what) and C(why) (empty on success).
  returned: always
  type: list
  elements: dict
checks_changed:
  description: The tasks whose healthcheck O(healthchecks) changed (would change, in check mode).
  returned: always
  type: list
  elements: str
  sample: [web.2]
  version_added: 0.6.0
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmnet.overlay.plugins.module_utils.host import files, task
from ansible_collections.swarmnet.overlay.plugins.module_utils.live import agent_config, health, hold, live_hint, waits


def _checked_healthchecks(module, p):
    """The O(healthchecks) given, once each names a task of O(tasks) and is a check as the plan gives it."""
    checks = p["healthchecks"] or {}
    if checks and p["state"] != "present":
        module.fail_json(msg="healthchecks: only with state=present (a step sets them as it holds its tasks)")
    for name, check in sorted(checks.items()):
        if name not in (p["tasks"] or ()):
            module.fail_json(msg="healthchecks.%s: not a task this run holds (tasks: %s)"
                                 % (name, ", ".join(p["tasks"] or ()) or "none"))
        if check is not None and not (isinstance(check, dict) and check.get("kind") in health.PROBE_KINDS):
            module.fail_json(msg="healthchecks.%s=%r: a healthcheck as the plan gives it ({kind: %s, ...}) or null"
                                 % (name, check, " | ".join(health.PROBE_KINDS)))
    return checks


def _set_checks(module, p, checks):
    """Writes the checks that differ into agent.json; returns (names changed, their diff, the text written)."""
    path = agent_config.path(p["state_dir"])
    text = files.read(path)
    before = agent_config.checks(text)
    names = sorted(n for n in checks if n in before and before[n] != checks[n])
    if not names:
        return [], None, text
    after = agent_config.with_checks(text, checks)
    if not module.check_mode:
        files.write(path, after, agent_config.MODE)
    shown = {"before": {n: before[n] for n in names}, "after": {n: checks[n] for n in names}}
    diff = dict({key: json.dumps(value, sort_keys=True, indent=1) + "\n" for key, value in shown.items()},
                before_header=path + " (healthchecks)", after_header=path + " (healthchecks)")
    return names, diff, after


def main():
    module = AnsibleModule(
        argument_spec=dict(
            tasks=dict(type="list", elements="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            healthchecks=dict(type="dict"),
            wait_for=dict(type="list", elements="dict", default=[], options=waits.TASK_OPTIONS),
            wait_timeout=dict(type="float", default=60.0),
            state_dir=dict(type="path", default=task.DEFAULT_STATE_DIR),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p["wait_timeout"] < 0:
        module.fail_json(msg="wait_timeout=%r: must be 0 or more" % p["wait_timeout"])
    checks = _checked_healthchecks(module, p)
    path = hold.path(p["state_dir"])
    before = hold.read(p["state_dir"])
    if p["state"] == "present":
        after = before | set(p["tasks"] or ())
    else:
        after = set() if p["tasks"] is None else before - set(p["tasks"])
    # The checks first: the agent reads both files at the hold's datagram, and the restart that follows
    # the hold is probed with the check of its own spec.
    checks_changed, checks_diff, config_text = _set_checks(module, p, checks)
    changed = after != before or bool(checks_changed)
    if not module.check_mode:
        if after != before:
            hold.write(p["state_dir"], after)
        elif checks_changed:
            live_hint.tell_held(p["state_dir"])
    diff = {"before": hold.text(before), "after": hold.text(after), "before_header": path, "after_header": path}
    result = dict(changed=changed, held=sorted(after), waited=0.0, pending=[], checks_changed=checks_changed,
                  diff=[diff, checks_diff] if checks_diff else diff)
    if checks_changed and not module.check_mode:
        if agent_config.wait_loaded(p["state_dir"], config_text, p["wait_timeout"]) is None:
            module.fail_json(msg="task_hold: the live agent did not read the healthchecks of %s within %gs (see its log "
                                 "under %s)" % (", ".join(checks_changed), p["wait_timeout"], p["state_dir"]), **result)
    if p["wait_for"] and not module.check_mode:
        condition = waits.DRAINED if p["state"] == "present" else waits.SERVING
        tasks = {(t["host"], t["name"]) for t in p["wait_for"]}
        pending, waited = waits.until(waits.traffic(p["state_dir"], tasks, condition), p["wait_timeout"])
        result.update(waited=round(waited, 2), pending=[{"what": what, "why": why} for what, why in pending])
        if pending:
            module.fail_json(msg=waits.failure(condition, pending, "%gs" % p["wait_timeout"]), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
