# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Many objects of one kind in one module run: each reconciled and reported on its own.

A converge must not cost a module run per task or sandbox (each pays a Python start and the
pyroute2 import). A module that takes the host's whole list runs each item through Batch:
its own Changes (check mode stays exact), its own diff, and an error that names the item
without stopping the others, as a loop over items would.
"""

from __future__ import annotations

import json

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.swarmnet.overlay.plugins.module_utils import invocation
from ansible_collections.swarmnet.overlay.plugins.module_utils.reconcile import Changes


# {(spec, value as JSON): validated value as JSON}. Sandboxes of one network balance the same services:
# validating (deep copies, a spec walk per key) is done once per distinct value, and JSON hands out copies.
_VALIDATED = {}


def validated(module, spec, value, where):
    """`value` checked against an argument spec, as AnsibleModule checks its options (types, defaults,
    unknown keys): how a list option takes the single form's nested options without documenting them twice."""
    key = (id(spec), json.dumps(value, sort_keys=True))
    if key not in _VALIDATED:
        result = ArgumentSpecValidator(spec).validate(value)
        if result.error_messages:
            module.fail_json(msg="%s: %s" % (where, "; ".join(result.error_messages)))
        _VALIDATED[key] = json.dumps(result.validated_parameters)
    return json.loads(_VALIDATED[key])


class Batch:
    def __init__(self, check_mode, errors):
        self.check_mode = check_mode
        self.errors = errors          # the exception types that fail one item, not the run
        self.results = []
        self.failures = []
        self.diffs = []

    def run(self, label, reconcile):
        """reconcile(changes) -> (before, after, facts): before/after are the item's diff, facts its result."""
        changes = Changes(self.check_mode)
        result = {"name": label}
        try:
            before, after, facts = reconcile(changes)
        except self.errors as exc:
            self.failures.append("%s: %s" % (label, exc))
            result.update(failed=True, msg=str(exc), changed=changes.changed, actions=changes.done)
            self.results.append(result)
            return result
        result.update(facts, changed=changes.changed, actions=changes.done)
        self.results.append(result)
        if before != after:
            self.diffs.append({"before_header": label, "after_header": label, "before": before, "after": after})
        return result

    @property
    def changed(self):
        return any(r["changed"] for r in self.results)

    @property
    def actions(self):
        return ["%s: %s" % (r["name"], action) for r in self.results for action in r["actions"]]

    def exit(self, module, failure=None, **extra):
        """Ends the module run: failed when any item failed, or with `failure` (the run's own, after its
        items: a wait that ended unmet), with every item's result either way."""
        failures = self.failures + ([failure] if failure else [])
        if failures:
            module.fail_json(msg="; ".join(failures), changed=self.changed, actions=self.actions,
                             results=self.results, **extra)
        module.exit_json(changed=self.changed, actions=self.actions, results=self.results, diff=self.diffs, **extra,
                         **invocation.exit_kwargs(module))


def exit_steps(module, steps, **extra):
    """Ends a run of several kinds in order, [(key, Batch)]: each kind's results under its key, every
    action and diff in the order made, failed when an item failed (the run stopped after its kind)."""
    results = {}
    for key, batch in steps:
        results.setdefault(key, []).extend(batch.results)
    batches = [batch for key, batch in steps]
    changed = any(batch.changed for batch in batches)
    actions = [action for batch in batches for action in batch.actions]
    failures = [failure for batch in batches for failure in batch.failures]
    if failures:
        module.fail_json(msg="; ".join(failures), changed=changed, actions=actions, **results, **extra)
    module.exit_json(changed=changed, actions=actions, diff=[d for batch in batches for d in batch.diffs], **results,
                     **extra, **invocation.exit_kwargs(module))


def run_steps(module, steps, errors, **extra):
    """Runs a module's kinds in order, [(key, run(batch), or a false value for a kind with nothing to do)], each
    in a Batch of its own that fails an object on errors[key]; then ends the run as exit_steps does. Once a kind
    has an object that failed, the kinds after it are not run (they need what it makes); their results are empty."""
    done = []
    stopped = False
    for key, run in steps:
        batch = Batch(module.check_mode, errors[key])
        if run and not stopped:
            run(batch)
            stopped = bool(batch.failures)
        done.append((key, batch))
    exit_steps(module, done, **extra)
