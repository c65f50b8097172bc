#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: kernel_features
short_description: What this host's kernel can do that the plan depends on
version_added: 0.2.0
description:
  - Reports whether the kernel can do ESP transport with AES-GCM, which encrypted networks need.
    It adds a throwaway SA in a scratch network namespace that dies with the probe, so the host's own
    IPsec state never changes (where ESP is a module, the kernel loads it).
  - Needs nothing but Python's standard library, C(unshare) and C(ip), so the plan role can run it
    before the prerequisites are installed and refuse an inventory before any host changes.
author: swarmnet developers (@swarmnet)
options: {}
attributes:
  check_mode:
    support: full
    description: Only reads.
  diff_mode:
    support: none
    description: Changes nothing.
  platform:
    support: full
    platforms: linux
    description: Linux, root (for the scratch namespace).
"""

EXAMPLES = r"""
- name: Can this host encrypt overlays?
  swarmnet.overlay.kernel_features:
  register: features
"""

RETURN = r"""
esp:
  description: Whether ESP transport with C(rfc4106(gcm(aes))) works on this kernel.
  returned: always
  type: bool
  sample: true
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import xfrm


def main():
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    module.exit_json(changed=False, esp=xfrm.esp_available())


if __name__ == "__main__":
    main()
