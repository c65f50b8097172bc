# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The virtual services of the current network namespace, on whichever backend the kernel offers.

IPVS where the kernel has it, an nftables numgen map where it does not; marking is
nftables either way. Shared by the ipvs_service module and the boot-time restore,
so both make the same objects.
"""

from __future__ import annotations

from ansible_collections.swarmnet.overlay.plugins.module_utils.derived import Derived
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import (
    conntrack, lb_ipvs, lb_nftables, nftables, sysctl)
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import lb

FORWARD = "net/ipv4/ip_forward"


def _ipvs_socket(requested):
    """The IPVS socket of the reconcile when it balances with IPVS; None for nftables. Opening it
    is the test of whether the kernel has IPVS (auto takes it where it is)."""
    if requested == "nftables":
        return None
    ipvs = lb_ipvs.connect()
    if requested == "ipvs" and ipvs is None:
        raise lb.LbError("backend=ipvs: this kernel has no IPVS (load ip_vs, or use backend=auto or nftables)")
    return ipvs


def resolved(requested):
    """`requested` with auto answered for this kernel: nftables where it has no IPVS. IPVS is the
    kernel's, not a namespace's, so a run that balances many sandboxes probes once, not once each
    (a long-lived caller probes again: ip_vs may be loaded meanwhile)."""
    if requested != "auto":
        return requested
    ipvs = lb_ipvs.connect()
    if ipvs is None:
        return "nftables"
    ipvs.close()
    return requested


def _nft_body(table, services, balance):
    """The table's text; None for no table (nothing to mark, nothing to balance)."""
    return lb_nftables.render(table, services, balance=balance) if services or balance else None


def _forwarding(services, changes):
    """Masqueraded services forward (the ingress sandbox): the namespace must route."""
    if any(s["masquerade"] for s in services) and sysctl.read(FORWARD) != "1":
        changes("sysctl %s=1" % FORWARD, sysctl.write, FORWARD, "1")


def _ipvs_lines(services):
    """IPVS view for diffs: fwmark, scheduler, backends with weights."""
    return ["fwmark %#x %s %s" % (mark, svc["scheduler"], " ".join(
        "%s:%d" % (address, weight) for address, weight in sorted(svc["backends"].items())))
        for mark, svc in sorted(services.items())]


def flush_stale(services, gone_vips, changes):
    """nftables: delete tracked connections whose DNAT target is no longer a backend of their VIP, or
    a quiesced one that has not answered them."""
    with conntrack.connect() as ct:
        stale = conntrack.stale(ct, services, gone_vips)
        if stale:
            changes("flush %d tracked connections to removed or held back backends (%s)"
                    % (len(stale), conntrack.describe(stale)), conntrack.flush, ct, stale)


def reconcile(requested, wanted, table, changes, flush=True, marking=True, derived=None):
    """Make `wanted` (service dicts) the namespace's whole set; None removes them and the table.

    flush=False leaves tracked connections to removed backends for the caller's flush_stale()
    (the live agent switches every sandbox first, then walks the connection tables).
    marking=False leaves IPVS's marking table as it is: the live agent re-applies the services a
    converge programmed, with other backends only, and every nft run costs a process.
    derived: a Derived shared by the namespaces of one run (the same `wanted` list, normalised once).
    Returns (backend, diff lines before, diff lines after, normalised services)."""
    derived = derived or Derived()
    ipvs = _ipvs_socket(requested)
    backend = "nftables" if ipvs is None else "ipvs"
    services = derived.get("normalised", wanted, lambda: lb.normalise(wanted or [], backend), backend)
    family = lb_nftables.FAMILY
    if ipvs is not None:
        # Only services this module marked are its own: others (Docker's, kube-proxy's) stay.
        with ipvs:
            marked = nftables.current(family, table) if marking else None
            owned = lb_nftables.owned_marks(marked) | {s["fwmark"] for s in services}
            have = {mark: svc for mark, svc in lb_ipvs.current(ipvs).items() if mark in owned}
            if marking:
                nftables.ensure(family, table, _nft_body(table, services, False), changes, marked)
            lb_ipvs.apply(ipvs, services, have, changes)
        for name, value in sorted(lb_ipvs.sysctl_changes(services).items()):
            changes("sysctl net.ipv4.vs.%s=%s" % (name, value), lb_ipvs.set_sysctl, name, value)
        _forwarding(services, changes)
        after = {s["fwmark"]: {"scheduler": s["scheduler"],
                               "backends": {d["address"]: d["weight"] for d in s["backends"]}}
                 for s in services}
        return backend, _ipvs_lines(have), _ipvs_lines(after), services
    listing = nftables.listed(family, table)
    balance = wanted is not None
    body = derived.get("body", services, lambda: _nft_body(table, services, balance), (table, balance))
    # As nft prints them (this table has no counters): a table that stays costs one nft run and no parse.
    same = listing is None if body is None else nftables.is_listed_as(listing, family, table, body)
    before = "" if same else listing or ""
    gone_vips = set()
    if not same:
        table_now = nftables.current(family, table)     # its objects: the VIPs it marks, and what ensure() compares
        gone_vips = lb_nftables.marked_vips(table_now) - {s["vip"] for s in services}
        nftables.ensure(family, table, body, changes, table_now)
    _forwarding(services, changes)
    # A backend leaves a VIP only with a change of the table (the live agent flushes after its own),
    # so a table that stays needs no walk of the connection table.
    if flush and not same:
        flush_stale(services, gone_vips, changes)
    if same:
        after = before
    elif not changes.check_mode:
        after = nftables.text(family, table)
    elif wanted is None:
        after = ""
    else:
        after = nftables.canonical_text(family, table, lb_nftables.render(table, services))
    return backend, before.splitlines(), after.splitlines(), services
