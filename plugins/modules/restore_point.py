#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: restore_point
short_description: Keep what a host was converged to, and make it again after a reboot
version_added: 0.3.0
description:
  - Kernel objects (namespaces, links, FDB and neighbour entries, nftables tables, IPVS services) do
    not survive a reboot. This module keeps the host's part of the applied plan in
    C(STATE_DIR/applied.json) and installs the restore program C(/opt/swarmnet/libexec/swarmnet-restore)
    (with the collection's module_utils it imports, under C(/opt/swarmnet/lib)).
  - Where systemd is PID 1 it installs and enables C(swarmnet-restore.service), which runs the program
    at boot; task units (and the resolver's) are ordered after it. Elsewhere run the program by hand
    (C(swarmnet-restore [STATE_DIR])); it also starts the swarmnet task supervisor.
  - The program makes the firewall table, overlay networks, gateway bridge, sandboxes, peers,
    balancing and routing mesh again, in the roles' order, with the code the modules use.
  - Run it last in a play, after everything it records was applied.
author: swarmnet developers (@swarmnet)
requirements:
  - pyroute2 >= 0.9 in the module's interpreter (the restore program runs with the same one)
options:
  desired:
    description: This host's part of the plan (C(swarmnet_desired) of the plan role). Required with O(state=present).
    type: dict
  firewall_table:
    description: The cluster firewall's table (as given to M(swarmnet.overlay.cluster_firewall)).
    type: str
    default: swarmnet_fw
  firewall_state:
    description: Whether the cluster firewall is kept (C(absent) when the firewall role removed it).
    type: str
    choices: [present, absent]
    default: present
  lb_backend:
    description: Balancing backend, as given to M(swarmnet.overlay.ipvs_service).
    type: str
    choices: [auto, ipvs, nftables]
    default: auto
  supervisor:
    description: Task supervisor, as given to M(swarmnet.overlay.service_task).
    type: str
    choices: [auto, systemd, swarmnet]
    default: auto
  state_dir:
    description: Directory of the host's swarmnet state.
    type: path
    default: /var/lib/swarmnet
  state:
    description: C(absent) removes the kept state, the program and the unit (and changes no kernel object).
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - swarmnet.overlay.attributes
"""

EXAMPLES = r"""
- name: Keep what this host was converged to
  swarmnet.overlay.restore_point:
    desired: "{{ swarmnet_desired }}"
"""

RETURN = r"""
path:
  description: The kept state.
  returned: always
  type: str
  sample: /var/lib/swarmnet/applied.json
unit:
  description: The boot unit, or null where systemd is not PID 1.
  returned: always
  type: str
  sample: swarmnet-restore.service
actions:
  description: The changes made (or that would be made, in check mode).
  returned: always
  type: list
  elements: str
"""

import os
import sys

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmnet.overlay.plugins.module_utils import invocation
from ansible_collections.swarmnet.overlay.plugins.module_utils.host import files, restore, task
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import pyroute2_parts
from ansible_collections.swarmnet.overlay.plugins.module_utils.reconcile import Changes


def _present(module, saved, changes):
    p = module.params
    files.ensure({restore.applied_path(p["state_dir"]): saved}, changes)
    files.ensure(restore.program_files(sys.executable), changes, executable={restore.ENTRY_POINT})
    if not task.systemd_is_pid1():
        return None
    task.Systemd(module.run_command, p["state_dir"]).install(restore.UNIT, restore.unit_text(p["state_dir"]),
                                                             changes)
    return restore.UNIT


def _absent(module, changes):
    if task.systemd_is_pid1():
        task.Systemd(module.run_command, module.params["state_dir"]).uninstall(restore.UNIT, changes)
    for path in (restore.applied_path(module.params["state_dir"]), restore.ENTRY_POINT):
        if os.path.exists(path):
            changes("remove %s" % path, os.unlink, path)
    if os.path.isdir(restore.LIB_DIR):
        changes("remove %s" % restore.LIB_DIR, files.remove_tree, restore.LIB_DIR)


def _saved_text(module):
    p = module.params
    return restore.saved_text(p["desired"], p["firewall_table"], p["firewall_state"], p["lb_backend"],
                              p["supervisor"], sys.executable)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            desired=dict(type="dict"),
            firewall_table=dict(type="str", default="swarmnet_fw"),
            firewall_state=dict(type="str", default="present", choices=["present", "absent"]),
            lb_backend=dict(type="str", default="auto", choices=["auto", "ipvs", "nftables"]),
            supervisor=dict(type="str", default="auto", choices=["auto", "systemd", "swarmnet"]),
            state_dir=dict(type="path", default=task.DEFAULT_STATE_DIR),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        required_if=[("state", "present", ["desired"])],
        supports_check_mode=True,
    )
    pyroute2_parts.require(module)     # the boot program's, not imported here
    p = module.params
    if p["state"] == "present":
        missing = [key for key in restore.KEPT if key not in p["desired"]]
        if missing:
            module.fail_json(msg="desired: no %s (pass the plan role's swarmnet_desired)" % ", ".join(missing))
    path = restore.applied_path(p["state_dir"])
    before = files.read(path) or ""
    changes = Changes(module.check_mode)
    try:
        if p["state"] == "present":
            after = _saved_text(module)
            unit = _present(module, after, changes)
        else:
            _absent(module, changes)
            unit, after = None, ""
    except (task.TaskError, OSError) as exc:
        module.fail_json(msg="restore_point: %s" % exc, actions=changes.done)
    # The whole plan of the host, twice, is the largest result of a converge: sent only when it differs.
    module.exit_json(changed=changes.changed, path=path, unit=unit, actions=changes.done,
                     diff={"before": before, "after": after} if before != after else {}, **invocation.exit_kwargs(module))


if __name__ == "__main__":
    main()
