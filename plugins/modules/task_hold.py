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
  - Writes the names of this host's tasks that a rollout holds out of traffic to C(STATE_DIR/live/held.json).
    The host's live agent then tells every host that those tasks are not healthy. Every VIP and every DNS
    answer on every host drops them, in the same way as for a failed healthcheck. Their process keeps running
    and their health is still probed underneath, so a rollout can wait with M(swarmnet.overlay.live_wait)
    until every host has drained them, restart them, and wait until they are healthy again.
  - O(state=absent) lets the named tasks back (all of them when O(tasks) is empty). The agent then
    announces their health as it is.
  - Needs the live layer (the live role). Without it nothing reads the file.
author: swarmnet developers (@swarmnet)
options:
  tasks:
    description: Names of tasks of this host (C(SERVICE.SLOT)).
    type: list
    elements: str
    default: []
  state:
    description: V(present) holds the tasks, V(absent) lets them back.
    type: str
    choices: [present, absent]
    default: present
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
"""

RETURN = r"""
held:
  description: The tasks held on this host after the run (what would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [web.2]
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmnet.overlay.plugins.module_utils.host import files, task
from ansible_collections.swarmnet.overlay.plugins.module_utils.live import hold


def main():
    module = AnsibleModule(
        argument_spec=dict(
            tasks=dict(type="list", elements="str", default=[]),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            state_dir=dict(type="path", default=task.DEFAULT_STATE_DIR),
        ),
        supports_check_mode=True,
    )
    p = module.params
    path = hold.path(p["state_dir"])
    before = hold.read(p["state_dir"])
    if p["state"] == "present":
        after = before | set(p["tasks"])
    else:
        after = before - set(p["tasks"]) if p["tasks"] else set()
    changed = after != before
    if changed and not module.check_mode:
        if after:
            files.write(path, hold.text(after), 0o644)
        elif os.path.exists(path):
            os.unlink(path)
    module.exit_json(changed=changed, held=sorted(after),
                     diff={"before": hold.text(before), "after": hold.text(after), "before_header": path,
                           "after_header": path})


if __name__ == "__main__":
    main()
