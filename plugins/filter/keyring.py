# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the keyring of encrypted networks (the logic lives in module_utils/plan/esp.py)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import esp


def keyring_rotation(keyring, new_key):
    try:
        return esp.rotation(keyring, new_key)
    except ValueError as exc:
        raise AnsibleFilterError("swarmnet_encryption_keyring: %s" % exc) from None


class FilterModule:
    def filters(self):
        return {"keyring_rotation": keyring_rotation}
