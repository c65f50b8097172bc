# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPVS through pyroute2: fwmark services with NAT backends, where the kernel has IPVS."""

from __future__ import annotations

import errno

from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import sysctl
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel.netns import NetlinkError

try:
    from pyroute2.ipvs import IPVS, IPVSDest, IPVSService
except ImportError:  # netns.require_pyroute2() reports a missing pyroute2
    IPVS = None

FWD_MASQ = 0          # IP_VS_CONN_F_MASQ; pyroute2's default (3) is direct routing
# The sysctls Docker sets in a load-balancing namespace: reuse ports of finished
# connections, and drop connections to removed or quiesced backends at once.
SYSCTLS = {"conn_reuse_mode": "0", "expire_nodest_conn": "1", "expire_quiescent_template": "1"}
# Where services masquerade (the ingress sandbox), nftables must see IPVS connections.
MASQUERADE_SYSCTLS = {"conntrack": "1"}
VS_DIR = "net/ipv4/vs/"


def connect():
    """One IPVS socket for a whole reconcile, or None where this namespace's kernel has no IPVS
    (the generic netlink family is not there)."""
    if IPVS is None:
        return None
    try:
        return IPVS()
    except NetlinkError as exc:
        if exc.code in (errno.ENOENT, errno.EOPNOTSUPP):
            return None
        raise


def current(ipvs):
    """{fwmark: {"scheduler", "backends": {address: weight}}} of fwmark services."""
    found = {}
    for msg in ipvs.service("dump"):
        svc = IPVSService.from_message(msg)
        if not svc.get("fwmark"):
            continue
        dests, ports = {}, {}
        for dmsg in ipvs.dest("dump", service=svc):
            dest = IPVSDest.from_message(dmsg)
            dests[dest["addr"]] = dest["weight"]
            ports[dest["addr"]] = dest.get("port") or 0
        found[svc["fwmark"]] = {"scheduler": svc.get("sched_name"), "backends": dests, "ports": ports}
    return found


def _service(fwmark, scheduler="rr"):
    # The kernel wants a netmask on every service (EINVAL without); pyroute2 adds one only
    # for services given by address, so a fwmark service carries it explicitly.
    return IPVSService(fwmark=fwmark, sched_name=scheduler, af=2, netmask="255.255.255.255")


def apply(ipvs, services, have, changes):
    """Reconcile fwmark services and their backends with `services` (normalised)."""
    want = {s["fwmark"]: s for s in services}
    for fwmark in sorted(set(have) - set(want)):
        changes("delete IPVS service fwmark %#x" % fwmark, ipvs.service, "del", _service(fwmark))
    for fwmark, svc in sorted(want.items()):
        old = have.get(fwmark)
        if old is None:
            changes("add IPVS service fwmark %#x (%s)" % (fwmark, svc["scheduler"]),
                    ipvs.service, "add", _service(fwmark, svc["scheduler"]))
            old = {"scheduler": svc["scheduler"], "backends": {}}
        else:
            old = dict(old, backends=dict(old["backends"]))     # `have` stays the diff's "before"
        if old["scheduler"] != svc["scheduler"]:
            changes("set IPVS service fwmark %#x scheduler %s (was %s)" % (fwmark, svc["scheduler"], old["scheduler"]),
                    ipvs.service, "set", _service(fwmark, svc["scheduler"]))
        wanted = {d["address"]: d["weight"] for d in svc["backends"]}
        port = svc["target_port"] or 0     # NAT rewrites the port only when one is given
        old_ports = old.get("ports", {})
        moved = {a for a in wanted if a in old["backends"] and old_ports.get(a, 0) != port}
        for address in sorted(set(old["backends"]) - set(wanted) | moved):
            changes("delete backend %s of fwmark %#x" % (address, fwmark),
                    ipvs.dest, "del", _service(fwmark), IPVSDest(addr=address, port=old_ports.get(address, 0)))
            old["backends"].pop(address)
        for address, weight in sorted(wanted.items()):
            if address not in old["backends"]:
                changes("add backend %s weight %d to fwmark %#x" % (address, weight, fwmark), ipvs.dest, "add",
                        _service(fwmark), IPVSDest(addr=address, port=port, weight=weight, fwd_method=FWD_MASQ))
            elif old["backends"][address] != weight:
                changes("set backend %s weight %d in fwmark %#x" % (address, weight, fwmark), ipvs.dest, "set",
                        _service(fwmark), IPVSDest(addr=address, port=port, weight=weight, fwd_method=FWD_MASQ))


def sysctl_changes(services):
    """The Docker sysctls not yet set in this namespace: {name: value}."""
    wanted = dict(SYSCTLS)
    if any(s["masquerade"] for s in services):
        wanted.update(MASQUERADE_SYSCTLS)
    return {name: value for name, value in wanted.items() if sysctl.read(VS_DIR + name) != value}


def set_sysctl(name, value):
    sysctl.write(VS_DIR + name, value)
