# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lists as the items a module's list option takes, the plan's shared balancing per sandbox, a host's
plan with some of its tasks kept on the spec they run, and which tasks a stopped rollout keeps."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import lb, rollout


def as_items(names, key):
    if not isinstance(names, (list, tuple)):
        raise AnsibleFilterError("as_items: expects a list of names, got %r" % (names,))
    return [{key: name} for name in names]


def per_sandbox(groups):
    if not isinstance(groups, (list, tuple)) or not all(
            isinstance(g, dict) and isinstance(g.get("sandboxes"), list) for g in groups):
        raise AnsibleFilterError("per_sandbox: expects the plan's balancing, [{sandboxes, services}], got %r" % (groups,))
    return lb.per_sandbox(groups)


def with_tasks(desired, items):
    if not isinstance(desired, dict) or not isinstance(desired.get("tasks"), list):
        raise AnsibleFilterError("with_tasks: expects a host's plan, with its tasks, got %r" % (desired,))
    if not isinstance(items, (list, tuple)) or not all(isinstance(i, dict) and "name" in i for i in items):
        raise AnsibleFilterError("with_tasks: expects a list of task items, each with its name, got %r" % (items,))
    by_name = {item["name"]: item for item in items}
    return dict(desired, tasks=[by_name.get(task["name"], task) for task in desired["tasks"]])


def kept_previous(batches, failed, host):
    if not isinstance(batches, (list, tuple)) or not all(
            isinstance(b, dict) and {"service", "failure_action", "previous"} <= set(b) for b in batches):
        raise AnsibleFilterError("kept_previous: expects the plan's rollout, [{service, failure_action, previous}], got %r"
                                 % (batches,))
    if not isinstance(failed, int) or not 0 <= failed < len(batches):
        raise AnsibleFilterError("kept_previous: expects the index of a batch of the rollout (0-%d), got %r"
                                 % (len(batches) - 1, failed))
    return rollout.kept_previous(batches, failed, host)


class FilterModule:
    def filters(self):
        return {"as_items": as_items, "per_sandbox": per_sandbox, "with_tasks": with_tasks,
                "kept_previous": kept_previous}
