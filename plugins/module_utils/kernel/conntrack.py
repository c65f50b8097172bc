# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connections tracked to backends that left (nftables balancing).

A DNAT decision lives in its conntrack entry: after a backend is removed, its
clients would keep sending to it until the entry times out (moby#29529 is the
IPVS form of the same problem; Docker answers it with expire_nodest_conn).
Deleting the entries makes the next packet a new decision: a reset, and a retry
reaches a live backend.
"""

from __future__ import annotations

import errno

from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel.netns import NetlinkError

try:
    from pyroute2.conntrack import Conntrack
except ImportError:  # netns.require_pyroute2() reports a missing pyroute2
    Conntrack = None


def connect():
    """A conntrack netlink socket in the current namespace."""
    return Conntrack()


SEEN_REPLY = 0x2        # IPS_SEEN_REPLY: the backend has answered the connection


def _keep(services):
    """{(vip, port or None): (serving backend addresses, quiesced ones)}."""
    return {(s["vip"], s["port"]): _by_weight(s["backends"]) for s in services}


def _by_weight(backends):
    return {d["address"] for d in backends if d["weight"]}, {d["address"] for d in backends if not d["weight"]}


def is_stale(orig, reply, status, keep, gone_vips):
    """Whether a connection's DNAT target is no longer a backend of the VIP it was sent to. A quiesced
    backend (weight 0) keeps the connections it answered, as in IPVS; one it never answered (a SYN
    sent just before it was held back) has nothing in flight, and its retry is a new decision."""
    if orig.daddr in gone_vips:
        return True
    for key in ((orig.daddr, orig.dport), (orig.daddr, None)):
        if key in keep:
            serving, quiesced = keep[key]
            if reply.saddr == orig.daddr or reply.saddr in serving:
                return False
            return reply.saddr not in quiesced or not status & SEEN_REPLY
    return False


def stale(ct, services, gone_vips):
    keep = _keep(services)
    return [e for e in ct.dump_entries() if is_stale(e.tuple_orig, e.tuple_reply, e.status, keep, gone_vips)]


def describe(entries):
    """The distinct VIP -> backend pairs of the entries, for the change's description."""
    pairs = sorted({"%s -> %s" % (e.tuple_orig.daddr, e.tuple_reply.saddr) for e in entries})
    return ", ".join(pairs)


def flush(ct, entries):
    """Delete the entries; one that expired since the dump is already gone, as wanted."""
    for entry in entries:
        try:
            ct.delete(entry)
        except NetlinkError as exc:
            if exc.code != errno.ENOENT:
                raise
