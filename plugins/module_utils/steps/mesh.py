# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's routing mesh and egress (one nftables table) as a Batch item: what routing_mesh and
services_host run."""

from __future__ import annotations

import ipaddress

from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import mesh, nftables

PORT = dict(protocol=dict(type="str", default="tcp", choices=["tcp", "udp"]), port=dict(type="int", required=True))

OPTIONS = dict(
    ingress=dict(type="list", elements="dict", default=[], options=dict(PORT, address=dict(type="str", required=True))),
    host=dict(type="list", elements="dict", default=[],
              options=dict(PORT, target_port=dict(type="int", required=True),
                           backends=dict(type="list", elements="str", default=[]))),
    egress_subnet=dict(type="str"),
    bridge=dict(type="str", default="swarmnet_gwbr"),
    table=dict(type="str", default=mesh.DEFAULT_TABLE),
    state=dict(type="str", default="present", choices=["present", "absent"]),
)

ERRORS = (nftables.NftError, OSError)


def check(module, table, where=""):
    """Ends the run on a port, address or subnet the table cannot hold (`where` prefixes each key)."""
    seen = set()
    for key in ("ingress", "host"):
        for i, item in enumerate(table[key]):
            at = "%s%s[%d]" % (where, key, i)
            for field in ("port", "target_port"):
                if field in item and not 1 <= item[field] <= 65535:
                    module.fail_json(msg="%s.%s=%r: not a port (1-65535)" % (at, field, item[field]))
            if (item["protocol"], item["port"]) in seen:
                module.fail_json(msg="%s.port=%r: %s port published twice" % (at, item["port"], item["protocol"]))
            seen.add((item["protocol"], item["port"]))
            for j, address in enumerate([item["address"]] if key == "ingress" else item["backends"]):
                try:
                    ipaddress.IPv4Address(address)
                except ValueError:
                    module.fail_json(msg="%s address %d=%r: not an IPv4 address" % (at, j, address))
    if table["egress_subnet"]:
        try:
            ipaddress.IPv4Network(table["egress_subnet"])
        except ValueError:
            module.fail_json(msg="%segress_subnet=%r: not an IPv4 network" % (where, table["egress_subnet"]))
    if not module.get_bin_path("nft"):
        module.fail_json(msg="nft is not installed on this host: run the swarmnet.overlay.prereqs role")


def label(table):
    """The table's family and name, as nft names it."""
    return "%s %s" % (mesh.FAMILY, table["table"])


def run(batch, table):
    """The table as `table` says, in one transaction."""
    return batch.run("table " + label(table), _reconcile(batch.check_mode, table))


def _reconcile(check_mode, table):
    def reconcile(changes):
        body = None if table["state"] == "absent" else \
            mesh.render(table["table"], table["bridge"], table["ingress"], table["host"], table["egress_subnet"])
        changed, before, after = nftables.reconcile(mesh.FAMILY, table["table"], body, check_mode)
        if changed:
            changes.record(("load table " if body is not None else "delete table ") + label(table))
        return before, after, {}
    return reconcile
