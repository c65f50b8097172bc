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
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmnet.overlay.plugins.module_utils.host import registry


def main():
    module = AnsibleModule(
        argument_spec=dict(
            services=dict(type="list", elements="dict", default=[]),
            state_dir=dict(type="path", default="/var/lib/swarmnet"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    for i, svc in enumerate(p["services"]):
        if not isinstance(svc.get("name"), str):
            module.fail_json(msg="services[%d].name=%r: every entry needs a name" % (i, svc.get("name")))
    before = registry.read_text(p["state_dir"])
    after = registry.text(p["services"]) if p["state"] == "present" else ""
    changed = before != after
    if changed and not module.check_mode:
        try:
            if p["state"] == "present":
                registry.write(p["state_dir"], after)
            else:
                os.unlink(registry.path(p["state_dir"]))
        except OSError as exc:
            module.fail_json(msg="%s: %s" % (registry.path(p["state_dir"]), exc))
    module.exit_json(changed=changed, path=registry.path(p["state_dir"]),
                     diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
