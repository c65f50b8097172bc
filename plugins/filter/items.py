# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names as the items a module's list option takes: what leaves goes to one module run, not a loop."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def as_items(names, key):
    if not isinstance(names, (list, tuple)):
        raise AnsibleFilterError("as_items: expects a list of names, got %r" % (names,))
    return [{key: name} for name in names]


class FilterModule:
    def filters(self):
        return {"as_items": as_items}
