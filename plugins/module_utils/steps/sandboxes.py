# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sandboxes of one host and their endpoints, each a Batch item: what overlay_endpoint and overlay_host run."""

from __future__ import annotations

from ansible_collections.swarmnet.overlay.plugins.module_utils.batch import validated
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import endpoint, netns
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import naming

ENDPOINT_OPTIONS = dict(
    network=dict(type="str", required=True),
    ifname=dict(type="str", required=True),
    address=dict(type="str", required=True),
    mac=dict(type="str", required=True),
    mtu=dict(type="int", required=True),
    netns=dict(type="str"),
    bridge=dict(type="str"),
    gateway=dict(type="str"),
)
ENDPOINTS_SPEC = dict(endpoints=dict(type="list", elements="dict", default=[], options=ENDPOINT_OPTIONS))
SANDBOX_OPTIONS = dict(
    name=dict(type="str", required=True),
    endpoints=dict(type="list", elements="dict", default=[]),
)

ERRORS = (endpoint.EndpointError,) + netns.KERNEL_ERRORS


def checked(module, items, key):
    """The sandboxes of option `key` (validated as SANDBOX_OPTIONS), each with its endpoints checked."""
    for i, item in enumerate(items):
        item["endpoints"] = validated(module, ENDPOINTS_SPEC, {"endpoints": item["endpoints"]},
                                      "%s[%d] (%s)" % (key, i, item["name"]))["endpoints"]
        check_name(module, item["name"], "%s[%d].name" % (key, i))
    return items


def check_name(module, name, key):
    if not naming.SANDBOX_RE.match(name):
        module.fail_json(msg="%s=%r: not a valid namespace name" % (key, name))


def run(batch, items, present):
    ends = endpoint.NetworkEnds()
    for item in items:
        batch.run("sandbox %s" % item["name"], _reconcile(batch.check_mode, item["name"],
                                                          item["endpoints"] if present else None, ends))


def _reconcile(check_mode, sandbox, wanted, ends):
    """One sandbox (wanted None to remove it)."""
    for ep in wanted or []:
        ep["netns"] = ep["netns"] or naming.network_netns(ep["network"])
        ep["mac"] = ep["mac"].lower()

    def reconcile(changes):
        observed = endpoint.observe(sandbox, routes=any(ep.get("gateway") for ep in wanted or []))
        before = endpoint.summary(observed)
        if wanted is None:
            endpoint.ensure_absent(sandbox, changes)
            after = {}
        else:
            endpoint.ensure_present(sandbox, wanted, changes, observed, ends)
            if check_mode:
                after = endpoint.desired_summary(wanted)
            else:
                after = endpoint.summary(endpoint.observe(sandbox)) if changes.changed else before
        return before, after, {"endpoints": before if check_mode else after}
    return reconcile
