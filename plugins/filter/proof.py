# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The demo's proof (playbooks/proof.yml) as a table and one summary line a person reads at a glance."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

# The line playbooks/tasks/ping_matrix.yml prints for each ping.
PING_LINE = re.compile(r"^(?P<origin>\S+) \((?P<address>\S+)\) -> (?P<to>\S+) on (?P<vtep>\S+) over (?P<network>\S+): "
                       r"(?P<result>ok|FAILED)$")


def _table(header, rows):
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip()
             for row in [header] + rows]
    return lines[:1] + ["  ".join("-" * width for width in widths)] + lines[1:]


def _answered(counts):
    """'10.10.1.5 x10, 10.10.1.6 x10' from {address: count}, failures left out."""
    return ", ".join("%s x%d" % (address, n) for address, n in sorted(counts.items()) if address != "failed")


def proof_report(hosts, requests=30):
    """hosts: {host: {matrix: [ping lines], vtep_hosts: {address: host}, vip: [{origin, counts}],
    port: counts or None}}; counts are {answering address: n, "failed": n}. One text: the pings, the
    service requests and the summary line."""
    pings, services = [], []
    for host in sorted(hosts):
        data = hosts[host]
        for line in data.get("matrix") or []:
            match = PING_LINE.match(line)
            if match is None:
                raise AnsibleFilterError("proof_report: not a line of ping_matrix.yml: %r" % line)
            over = data.get("vtep_hosts", {}).get(match["vtep"], match["vtep"])
            pings.append([match["origin"], match["network"], match["to"], over, match["result"]])
        for vip in data.get("vip") or []:
            services.append([vip["origin"], "web VIP", vip["counts"].get("failed", 0), _answered(vip["counts"])])
        if data.get("port") is not None:
            services.append([host, "published 8080", data["port"].get("failed", 0), _answered(data["port"])])
    ok = sum(1 for row in pings if row[4] == "ok")
    lines = _table(["host/sandbox", "network", "to", "over", "result"], pings)
    summary = ["%d/%d pings ok" % (ok, len(pings))]
    if services:
        lines += [""] + _table(["from", "to", "failed", "answered by"],
                               [[origin, to, "%d/%d" % (failed, requests), by] for origin, to, failed, by in services])
        for label, where in (("web VIP", "from every task sandbox"), ("published 8080", "on every host")):
            rows = [row for row in services if row[1] == label]
            answered = [requests - row[2] for row in rows]
            if rows and len(set(answered)) == 1:
                summary.append("%s %d/%d %s" % (label, answered[0], requests, where))
            elif rows:
                summary.append("%s %s" % (label, ", ".join("%s %d/%d" % (row[0], requests - row[2], requests)
                                                           for row in rows)))
    return "\n".join(lines + ["", " · ".join(summary)])


class FilterModule:
    def filters(self):
        return {"proof_report": proof_report}
