# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The parts of a host's plan that an earlier plan of the same run already had, and so were applied."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def _covered(wanted, applied):
    # A list is covered when each of its items was applied (a handover only takes items away);
    # anything else when it is equal.
    if isinstance(wanted, list) and isinstance(applied, list):
        return all(item in applied for item in wanted)
    return wanted == applied


def applied_parts(desired, applied):
    if not isinstance(desired, dict) or not isinstance(applied, dict):
        raise AnsibleFilterError("applied_parts: expects two plans of one host (mappings), got %r and %r"
                                 % (type(desired).__name__, type(applied).__name__))
    return sorted(part for part, wanted in desired.items() if part in applied and _covered(wanted, applied[part]))


class FilterModule:
    def filters(self):
        return {"applied_parts": applied_parts}
