# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's service registry (STATE_DIR/services.json) as a Batch item: what service_registry and
services_host run."""

from __future__ import annotations

import os

from ansible_collections.swarmnet.overlay.plugins.module_utils.host import registry

OPTIONS = dict(
    services=dict(type="list", elements="dict", default=[]),
    state=dict(type="str", default="present", choices=["present", "absent"]),
)

ERRORS = (OSError,)


def check(module, services, where=""):
    for i, svc in enumerate(services):
        if not isinstance(svc.get("name"), str):
            module.fail_json(msg="%sservices[%d].name=%r: every entry needs a name" % (where, i, svc.get("name")))


def run(batch, services, state_dir, present):
    return batch.run("registry", _reconcile(services, state_dir, present))


def _reconcile(services, state_dir, present):
    def reconcile(changes):
        before = registry.read_text(state_dir)
        after = registry.text(services) if present else ""
        if before != after:
            if present:
                changes("write %s" % registry.path(state_dir), registry.write, state_dir, after)
            else:
                changes("remove %s" % registry.path(state_dir), os.unlink, registry.path(state_dir))
        return before, after, {}
    return reconcile
