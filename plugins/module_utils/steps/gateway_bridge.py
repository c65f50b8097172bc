# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's gateway bridge as a Batch item: what gateway_bridge and overlay_host run."""

from __future__ import annotations

import ipaddress

from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import gwbridge, netns

DEFAULT_NAME = "swarmnet_gwbr"

ERRORS = (gwbridge.GatewayBridgeError,) + netns.KERNEL_ERRORS


def check(module, name, address, present, where=""):
    """Ends the run on a name the kernel cannot hold or an address that is no host address with prefix."""
    if len(name) > 15:
        module.fail_json(msg="%sname=%r: longer than the kernel's 15 characters" % (where, name))
    if present:
        try:
            iface = ipaddress.IPv4Interface(address)
        except ValueError:
            iface = None
        if iface is None or "/" not in address or iface.ip in (iface.network.network_address,
                                                               iface.network.broadcast_address):
            module.fail_json(msg="%saddress=%r: not an IPv4 host address with prefix length" % (where, address))


def run(batch, name, address, state_dir, present):
    batch.run("bridge %s" % name, _reconcile(batch.check_mode, name, address if present else None, state_dir))


def _read(name):
    with netns.rtnl() as ipr:
        return gwbridge.summary(gwbridge.observe(ipr, name))


def _reconcile(check_mode, name, address, state_dir):
    """The bridge (address None to remove it, and put back the host's forwarding as it was)."""
    def reconcile(changes):
        before = _read(name)
        if address is None:
            gwbridge.ensure_absent(name, changes, state_dir)
            after = {} if changes.changed else before
        else:
            gwbridge.ensure_present(name, address, changes, state_dir)
            after = {"name": name, "addresses": [address], "up": True} if check_mode else _read(name)
        return before, after, {"bridge": before if check_mode else after}
    return reconcile
