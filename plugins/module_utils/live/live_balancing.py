# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A sandbox's balancing as the plan wants it, minus what the live layer holds back.

Whoever programs a sandbox's virtual services - the ipvs_service module in a converge,
the restore at boot, the live agent when a task or host goes down or comes back - does
it here, under one lock: read the facts, mask the planned backends (availability.py),
reconcile the kernel (balancer.py), and record both the planned and the applied sets in
STATE_DIR/live/lb/SANDBOX.json (lb_records.py). The agent re-applies from that record, so it
always works from the latest plan a converge programmed, and a converge never puts back a
backend the agent holds back: both compute the same thing from the same facts.
"""

from __future__ import annotations

import os

from ansible_collections.swarmnet.overlay.plugins.module_utils.derived import Derived
from ansible_collections.swarmnet.overlay.plugins.module_utils.host import files
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import balancer
from ansible_collections.swarmnet.overlay.plugins.module_utils.live import availability, lb_records
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import lb


def reconcile(state_dir, sandbox, backend, planned, table, changes, facts, flush=True, marking=True, derived=None):
    """Program the current namespace (sandbox `sandbox`) with `planned` masked by `facts`;
    None removes its services and its record. Call it under lb_records.locked(), in the sandbox.
    flush and marking: as balancer.reconcile() takes them; `derived`: a Derived shared by the
    sandboxes of one run (those handed the same `planned` list derive the same from it).

    Returns balancer.reconcile()'s (backend, before, after, services)."""
    derived = derived or Derived()
    applied = None
    if planned is not None:
        planned = derived.get("defaults", planned, lambda: lb.with_defaults(planned))
        applied = derived.get("masked", planned, lambda: availability.mask_backends(planned, facts), facts)
    result = balancer.reconcile(backend, applied, table, changes, flush, marking, derived)
    path = lb_records.record_path(state_dir, sandbox)
    if planned is None:
        if os.path.exists(path):
            changes("forget the balancing record %s" % path, os.unlink, path)
    elif lb_records.read_record(state_dir, sandbox) != lb_records.record(backend, table, planned, applied):
        # Compared parsed: an indented dump is Python's slow encoder, and most sandboxes stay as they are.
        files.ensure({path: lb_records.record_text(backend, table, planned, applied)}, changes)
    return result


def due(records_by_sandbox, facts, switched=()):
    """[(sandbox, record, applied)] of the sandboxes whose balancing `facts` change. Those that
    stop sending new connections to a backend come first (a client there may meet a task that
    is gone); among equals, those not in `switched` (done earlier in this pass: facts that keep
    changing must not hold the others back), then by name."""
    found = []
    for sandbox, rec in records_by_sandbox.items():
        if rec.get("planned") is None:
            continue
        applied = availability.mask_backends(rec["planned"], facts)
        if applied != rec.get("applied"):
            found.append(((not narrows(rec.get("applied"), applied), sandbox in switched, sandbox), (sandbox, rec, applied)))
    return [item for _order, item in sorted(found, key=lambda f: f[0])]


def _serving(services):
    """{(fwmark, address)} of the backends that take new connections."""
    return {(s["fwmark"], b["address"]) for s in services or [] for b in s.get("backends") or [] if b.get("weight", 1)}


def narrows(before, after):
    """Whether `after` (applied services) takes new connections at fewer backends than `before`."""
    return bool(_serving(before) - _serving(after))


def to_flush(before, after):
    """Whether `after` (applied services) lacks a backend `before` had, or holds back one that served:
    connections to it may be stale (conntrack.is_stale)."""
    kept = {(s["fwmark"], b["address"]) for s in after or [] for b in s.get("backends") or []}
    return narrows(before, after) or any((s["fwmark"], b["address"]) not in kept
                                         for s in before or [] for b in s.get("backends") or [])


def held_back(planned, applied):
    """Backends of `planned` that `applied` lacks or quiesces, for the module's report:
    ["fwmark VIP -> address (task on host)"]."""
    kept = _serving(applied)
    return ["fwmark %#x %s -> %s (%s on %s)" % (s["fwmark"], s["vip"], b["address"], b.get("task"), b.get("host"))
            for s in planned or [] for b in s.get("backends") or []
            if b.get("weight", 1) and (s["fwmark"], b["address"]) not in kept]
