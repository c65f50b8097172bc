# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The virtual services of a host's namespaces, each namespace a Batch item: what ipvs_service and
services_host run."""

from __future__ import annotations

import contextlib
import os

from ansible_collections.swarmnet.overlay.plugins.module_utils.batch import validated
from ansible_collections.swarmnet.overlay.plugins.module_utils.derived import Derived
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import balancer, netns, nftables
from ansible_collections.swarmnet.overlay.plugins.module_utils.live import availability, lb_records, live_balancing
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import lb

SERVICES_SPEC = dict(services=dict(type="list", elements="dict", default=[], options=dict(
    fwmark=dict(type="int", required=True),
    vip=dict(type="str", required=True),
    protocol=dict(type="str", default=lb.SERVICE_DEFAULTS["protocol"], choices=list(lb.PROTOCOLS)),
    port=dict(type="int"),
    target_port=dict(type="int"),
    scheduler=dict(type="str", default=lb.SERVICE_DEFAULTS["scheduler"]),
    masquerade=dict(type="bool", default=lb.SERVICE_DEFAULTS["masquerade"]),
    backends=dict(type="list", elements="dict", default=[], options=dict(
        address=dict(type="str", required=True),
        weight=dict(type="int", default=lb.BACKEND_DEFAULTS["weight"]),
        task=dict(type="str"),
        host=dict(type="str"),
    )),
)))

SANDBOXES_OPTIONS = dict(
    sandbox=dict(type="str", required=True),
    services=dict(type="list", elements="dict", default=[]),
)

BALANCING_OPTIONS = dict(
    sandboxes=dict(type="list", elements="str", required=True),
    services=dict(type="list", elements="dict", default=[]),
)

ERRORS = (lb.LbError, nftables.NftError) + netns.KERNEL_ERRORS


def checked(module, key, items, grouped):
    """[{sandbox, services}], one per namespace, from option `key`'s items: one namespace each (SANDBOXES_OPTIONS)
    or, grouped, each distinct set of services once with the sandboxes that share it (BALANCING_OPTIONS), which
    are handed one list (checked once; what a run derives from it, once: Balancing). Every service is checked
    as strictly as the single form's, before any namespace is touched."""
    groups = []
    for i, item in enumerate(items):
        names = item["sandboxes"] if grouped else [item["sandbox"]]
        where = "%s[%d] (%s)" % (key, i, names[0] if len(names) < 2 else "%s and %d more" % (names[0], len(names) - 1))
        services = validated(module, SERVICES_SPEC, {"services": item["services"]}, where)["services"]
        groups.append({"sandboxes": names, "services": services})     # the module's arguments stay as given
    return lb.per_sandbox(groups)


class Balancing:
    """How every namespace of a run is balanced: the backend (resolved), the table, the state directory."""

    def __init__(self, backend, table, state_dir, list_unchanged=True):
        """`list_unchanged`: each namespace's result lists its virtual services even where nothing
        changed (False: only where something did; a host's sandboxes each list every service of their
        networks, so a whole host's listings grow with services times sandboxes)."""
        self.backend = balancer.resolved(backend)
        self.table = table
        self.state_dir = state_dir
        self.list_unchanged = list_unchanged
        self.derived = Derived()        # sandboxes handed one list of services derive from it once

    def run(self, batch, items, present, empty_is_absent=True):
        """Each namespace with its services (none and empty_is_absent, or not present: nothing left of it)."""
        for item in items:
            where = item["sandbox"]
            planned = item["services"] if present and (item["services"] or not empty_is_absent) else None
            batch.run("netns " + where if where else "host namespace",
                      self._reconcile(batch.check_mode, where, planned))

    def _reconcile(self, check_mode, where, planned):
        def reconcile(changes):
            if where and not netns.exists(where):
                return self._missing_sandbox(check_mode, where, planned, changes)
            with netns.inside(where) if where else contextlib.nullcontext():
                # IPVS, /proc/sys/net and nft all act on the current namespace
                (backend, before, after, now), held = self._program(check_mode, where, planned, changes)
            facts = {"backend": backend, "held_back": held}
            if self.list_unchanged or changes.changed:
                facts["services"] = self.derived.get("summary", now, lambda: lb.summary(now))
            return "".join(line + "\n" for line in before), "".join(line + "\n" for line in after), facts
        return reconcile

    def _program(self, check_mode, where, planned, changes):
        """In a sandbox, through the live layer (masked, recorded, locked); in the host namespace, as planned."""
        if not where:
            return balancer.reconcile(self.backend, planned, self.table, changes), []
        # Check mode only reads: it neither takes the lock nor makes its file.
        with contextlib.nullcontext() if check_mode else lb_records.locked(self.state_dir):
            facts = availability.read(self.state_dir)
            result = live_balancing.reconcile(self.state_dir, where, self.backend, planned, self.table, changes, facts,
                                              derived=self.derived)
        return result, self.derived.get("held back", planned, lambda: live_balancing.held_back(
            planned, availability.mask_backends(planned, facts)), facts)

    def _missing_sandbox(self, check_mode, where, planned, changes):
        facts = {"backend": self.backend, "services": [], "held_back": []}
        if planned is None:     # nothing left in the kernel; its record may be
            record = lb_records.record_path(self.state_dir, where)
            if os.path.exists(record):
                changes("forget the balancing record %s" % record, os.unlink, record)
            return "", "", facts
        if not check_mode:
            raise lb.LbError("no such network namespace")
        # Check mode before the sandbox exists: everything listed would be made.
        changes.predict("program %d virtual services in %s (sandbox not made yet)" % (len(planned), where))
        return "", "", facts
