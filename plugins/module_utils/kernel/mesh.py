# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The routing mesh table of a host: published ports in, task traffic out.

Ingress-mode ports: any packet to a local address on the port is DNATed to the
ingress sandbox on the gateway bridge, which balances it over every task of the
cluster (LAB-NOTES: Docker's shape). Host-mode ports go straight to the tasks on
this host, keeping the client's address. Egress: traffic from the gateway bridge
leaving by another interface is masqueraded to the host's address.
"""

from __future__ import annotations

FAMILY = "ip"
DEFAULT_TABLE = "swarmnet_mesh"


def _dnat(protocol, port, targets):
    match = "fib daddr type local %s dport %d" % (protocol, port)
    if len(targets) == 1:
        return "%s dnat to %s" % (match, targets[0])
    slots = ", ".join("%d : %s" % (i, t.replace(":", " . ")) for i, t in enumerate(targets))
    return "%s dnat to numgen inc mod %d map { %s }" % (match, len(targets), slots)


def render(table, bridge, ingress, host, egress_subnet):
    """nft text; ingress: [{protocol, port, address}], host: [{protocol, port, target_port, backends}]."""
    rules = [_dnat(p["protocol"], p["port"], [p["address"]]) for p in ingress]
    rules += [_dnat(p["protocol"], p["port"], ["%s:%d" % (b, p["target_port"]) for b in p["backends"]])
              for p in host if p["backends"]]
    lines = ["table %s %s {" % (FAMILY, table)]
    for hook in ("prerouting", "output"):
        lines += ["  chain %s {" % hook, "    type nat hook %s priority -100; policy accept;" % hook]
        lines += ["    " + r for r in rules]
        lines.append("  }")
    lines += ["  chain postrouting {", "    type nat hook postrouting priority 100; policy accept;"]
    if egress_subnet:
        lines.append('    ip saddr %s oifname != "%s" masquerade' % (egress_subnet, bridge))
        # A task asking a published port of its own host comes back out the same bridge:
        # masquerade it, or the answer would bypass the host and its DNAT.
        lines.append('    ip saddr %s oifname "%s" ct status dnat masquerade' % (egress_subnet, bridge))
    # A published port asked on 127.0.0.1: the answer must come back to the host.
    lines.append('    ip saddr 127.0.0.0/8 oifname "%s" masquerade' % bridge)
    lines += ["  }", "}"]
    # nft 1.0.6 needs a newline before the closing brace after a map (LAB-NOTES).
    return "\n".join(lines) + "\n"
