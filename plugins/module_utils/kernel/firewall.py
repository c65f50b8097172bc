# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster firewall table: control and data ports open to cluster peers only.

Accepting here does not override other tables (each base chain decides for
itself), so the host's own firewall keeps the last word; this table only adds
the drop for non-peers, with named counters the verify plays read.
"""

from __future__ import annotations

FAMILY = "inet"
DEFAULT_TABLE = "swarmnet_fw"


def _set(values):
    return "{ %s }" % ", ".join(str(v) for v in values)


def render(table, peers, tcp_ports, udp_ports, esp=False):
    """nft text for the whole table; peers are IPv4 addresses; esp: IPsec ESP from peers only."""
    lines = ["table %s %s {" % (FAMILY, table),
             "  set peers {", "    type ipv4_addr"]
    if peers:
        lines.append("    elements = %s" % _set(sorted(set(peers))))
    lines += ["  }",
              "  counter peer_accepted {", "  }",
              "  counter others_dropped {", "  }",
              "  chain input {",
              "    type filter hook input priority filter - 10; policy accept;"]
    for proto, ports in (("tcp", tcp_ports), ("udp", udp_ports)):
        if ports:
            ports = _set(sorted(set(int(p) for p in ports)))
            lines.append('    %s dport %s ip saddr @peers counter name "peer_accepted" accept' % (proto, ports))
            lines.append('    %s dport %s counter name "others_dropped" drop' % (proto, ports))
    if esp:
        lines.append('    meta l4proto esp ip saddr @peers counter name "peer_accepted" accept')
        lines.append('    meta l4proto esp counter name "others_dropped" drop')
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"
