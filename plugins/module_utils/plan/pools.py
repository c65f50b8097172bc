# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Address pools running low: a warning while there is still room (moby#43052), an error only at the end.

Pure Python, part of the plan. A network's pool is its subnet less the network and broadcast
addresses; its gateway, every endpoint and every VIP use one each. Each host's gateway bridge is a
pool of its own, the same subnet on every host (its gateway and the ingress sandbox's address are
kept on all of them).
"""

from __future__ import annotations

from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import naming

LOW_SHARE = 0.10        # warn below 10 % free ...
LOW_COUNT = 8           # ... or below 8 free addresses, whichever is more


def _usable(subnet):
    return max(subnet.num_addresses - 2, 0)


def low(free, usable):
    return free < max(LOW_COUNT, LOW_SHARE * usable)


def _warning(what, subnet, used, usable):
    free = usable - used
    return "%s (%s): %d of %d addresses used, %d free; the next tasks or sandboxes will be refused when none " \
           "is left (widen the subnet)" % (what, subnet, used, usable, free)


def warnings(nets, ips, gw_subnet, gw_ips):
    """nets: {name: network} (present ones, with their subnet); ips: {(host, sandbox, net): address},
    VIPs included; gw_ips: {(host, sandbox): address} on the gateway bridges. One line per low pool."""
    found = []
    for name in sorted(nets):
        subnet = nets[name]["subnet"]
        if subnet is None:
            continue
        used = 1 + sum(1 for (_h, _sb, net) in ips if net == name)         # the gateway, then the rest
        if low(_usable(subnet) - used, _usable(subnet)):
            found.append(_warning("network %r" % name, subnet, used, _usable(subnet)))
    if gw_subnet is not None:
        per_host = {}
        for host, sandbox in gw_ips:
            if sandbox != naming.INGRESS_SBOX:      # its address (.2) is kept on every host, as the gateway's (.1)
                per_host[host] = per_host.get(host, 0) + 1
        used = 2 + max(per_host.values(), default=0)
        busiest = sorted(h for h, n in per_host.items() if n + 2 == used)
        if low(_usable(gw_subnet) - used, _usable(gw_subnet)):
            host_note = " on %s" % ", ".join(busiest) if busiest else ""
            found.append(_warning("the gateway bridge%s, swarmnet_gwbridge_subnet" % host_note, gw_subnet, used,
                                  _usable(gw_subnet)))
    return found
