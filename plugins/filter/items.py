# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lists as the items a module's list option takes, and the plan's shared balancing per sandbox."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import lb


def as_items(names, key):
    if not isinstance(names, (list, tuple)):
        raise AnsibleFilterError("as_items: expects a list of names, got %r" % (names,))
    return [{key: name} for name in names]


def per_sandbox(groups):
    if not isinstance(groups, (list, tuple)) or not all(
            isinstance(g, dict) and isinstance(g.get("sandboxes"), list) for g in groups):
        raise AnsibleFilterError("per_sandbox: expects the plan's balancing, [{sandboxes, services}], got %r" % (groups,))
    return lb.per_sandbox(groups)


class FilterModule:
    def filters(self):
        return {"as_items": as_items, "per_sandbox": per_sandbox}
