#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: service_registry
short_description: The cluster's services as this host last applied them
version_added: 0.2.0
description:
  - Records the services of the cluster (VIPs, fwmarks, published ports, tasks and their addresses)
    in C(STATE_DIR/services.json). M(swarmnet.overlay.overlay_info) reports it back, and the plan keeps
    every living service's VIPs and fwmarks from it, so they never move while the service lives.
author: swarmnet developers (@swarmnet)
options:
  services:
    description: The registry entries, as planned by M(swarmnet.overlay.cluster_plan).
    type: list
    elements: dict
    default: []
  state_dir:
    description: Directory of the host's swarmnet state.
    type: path
    default: /var/lib/swarmnet
  state:
    description: C(absent) removes the registry.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - swarmnet.overlay.attributes
"""

EXAMPLES = r"""
- name: Record the services
  swarmnet.overlay.service_registry:
    services: "{{ swarmnet_desired.services }}"
"""

RETURN = r"""
path:
  description: The registry file.
  returned: always
  type: str
  sample: /var/lib/swarmnet/services.json
actions:
  description: The changes made (or that would be made, in check mode).
  returned: always
  type: list
  elements: str
  version_added: 0.6.0
results:
  description: One item, the registry's result (its C(name), C(changed), C(actions), or C(failed) and C(msg)).
  returned: always
  type: list
  elements: dict
  version_added: 0.6.0
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmnet.overlay.plugins.module_utils.batch import Batch
from ansible_collections.swarmnet.overlay.plugins.module_utils.host import registry as records
from ansible_collections.swarmnet.overlay.plugins.module_utils.steps import registry


def main():
    module = AnsibleModule(
        argument_spec=dict(registry.OPTIONS, state_dir=dict(type="path", default="/var/lib/swarmnet")),
        supports_check_mode=True,
    )
    p = module.params
    registry.check(module, p["services"])
    batch = Batch(module.check_mode, registry.ERRORS)
    registry.run(batch, p["services"], p["state_dir"], p["state"] == "present")
    batch.exit(module, path=records.path(p["state_dir"]))


if __name__ == "__main__":
    main()
