# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Overlay networks of one host, each a Batch item: what overlay_network and overlay_host run."""

from __future__ import annotations

import ipaddress

from ansible_collections.swarmnet.overlay.plugins.module_utils.batch import validated
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import links, netns, network
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import naming

SPEC = dict(
    name=dict(type="str", required=True),
    vni=dict(type="int"),
    gateway=dict(type="str"),
    local=dict(type="str"),
    data_port=dict(type="int", default=naming.DEFAULT_DATA_PORT),
    mtu=dict(type="int"),
)

ERRORS = (network.NetworkError,) + netns.KERNEL_ERRORS


def checked(module, items, key, present):
    """[(name, want)] from the option `key`'s items, want None to remove; bad values end the run first."""
    wanted = []
    for i, item in enumerate(items):
        where = "%s[%d]" % (key, i)
        item = validated(module, SPEC, item, where)
        wanted.append((item["name"], desired(module, item, where) if present else None))
    return wanted


def desired(module, item, where):
    """The network as the kernel should have it (`where` names the item in an error)."""
    for key in ("vni", "gateway", "local"):
        if item[key] is None:
            module.fail_json(msg="%s: %s is required with state=present" % (where, key))
    try:
        iface = ipaddress.IPv4Interface(item["gateway"])
        ipaddress.IPv4Address(item["local"])
    except ValueError as exc:
        module.fail_json(msg="%s: %s" % (where, exc))
    if not 1 <= item["vni"] <= naming.MAX_VNI:
        module.fail_json(msg="%s: vni=%r out of range 1-%d" % (where, item["vni"], naming.MAX_VNI))
    mtu = item["mtu"]
    if mtu is None:
        with netns.rtnl() as host:
            index = links.host_addresses(host).get(item["local"])
            link = host.get_links(index)[0] if index else None
            mtu = (link.get("IFLA_MTU") if link else 1500) - naming.VXLAN_OVERHEAD
    return {"name": item["name"], "vni": item["vni"], "gateway": str(iface), "local": item["local"],
            "data_port": item["data_port"], "mtu": mtu}


def run(batch, wanted):
    listings = links.Listings()     # the host namespace's links, listed once for every network's leftovers
    for name, want in wanted:
        batch.run("network %s" % name, _reconcile(batch.check_mode, name, want, listings))


def _reconcile(check_mode, name, want, listings):
    def reconcile(changes):
        observed = network.observe(name)
        before = network.summary(observed)
        if want is None:
            network.ensure_absent(name, changes)
            after = {}
        else:
            network.preflight(want, observed)
            network.ensure_present(want, changes, observed, listings)
            if check_mode:
                after = network.desired_summary(want)
            else:
                after = network.summary(network.observe(name)) if changes.changed else before
        return before, after, {"netns": naming.network_netns(name), "network": before if check_mode else after}
    return reconcile
