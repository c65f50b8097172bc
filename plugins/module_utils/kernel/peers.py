# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Remote peers of a VXLAN device: permanent neighbour (IP -> MAC) and FDB (MAC -> VTEP).

Entries are read with one dump each and written as one batch of netlink
messages per socket send: per-entry round trips are what makes thousands of
peers slow (LAB-NOTES: 1000 FDB entries 0.2 s one by one). pyroute2 encodes
one message per kind of change; entries are copies of it with their sequence
number and addresses stamped in, because encoding every message in pyroute2
costs ~35 us each, most of the batch's time.
Errors come back as NLMSG_ERROR for the failed sequence numbers only; a final
acknowledged request marks the end of the batch.
"""

from __future__ import annotations

import socket
import struct

from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import pyroute2_parts

try:
    pyroute2_parts.register()
    from pyroute2.netlink import (NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE,
                                  NLM_F_REQUEST, NLMSG_ERROR)
    from pyroute2.netlink.rtnl import RTM_DELNEIGH, RTM_GETLINK, RTM_NEWNEIGH
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
    from pyroute2.netlink.rtnl.ndmsg import ndmsg
except ImportError:  # netns.require_pyroute2() reports it
    ndmsg = None

NUD_PERMANENT = 0x80
NTF_SELF = 0x02
CHUNK_BYTES = 64 * 1024


class PeerError(Exception):
    pass


def read(ipr, ifindex):
    """Current peers on a VXLAN device: ({ip: mac}, {mac: vtep})."""
    neigh = {}
    for msg in ipr.get_neighbours(family=socket.AF_INET, ifindex=ifindex):
        if msg["state"] & NUD_PERMANENT and msg.get("NDA_LLADDR"):
            neigh[msg.get("NDA_DST")] = msg.get("NDA_LLADDR")
    fdb = {}
    for msg in ipr.fdb("dump", ifindex=ifindex):
        if msg["ifindex"] == ifindex and msg.get("NDA_DST") and msg["state"] & NUD_PERMANENT:
            fdb[msg.get("NDA_LLADDR")] = msg.get("NDA_DST")
    return neigh, fdb


def desired(peers):
    """Peers [{ip, mac, vtep}] -> ({ip: mac}, {mac: vtep})."""
    return ({p["ip"]: p["mac"].lower() for p in peers},
            {p["mac"].lower(): p["vtep"] for p in peers})


def diff(current, wanted):
    """What to add (or replace) and what to remove, per table, sorted."""
    changes = {}
    for table, have, want in (("neigh", current[0], wanted[0]), ("fdb", current[1], wanted[1])):
        changes[table] = {
            "add": sorted((k, v) for k, v in want.items() if have.get(k) != v),
            "remove": sorted((k, v) for k, v in have.items() if k not in want),
        }
    return changes


def _message(kind, ifindex, key, value, remove, seq):
    msg = ndmsg()
    msg["header"]["type"] = RTM_DELNEIGH if remove else RTM_NEWNEIGH
    msg["header"]["flags"] = NLM_F_REQUEST | (0 if remove else NLM_F_CREATE | NLM_F_REPLACE)
    msg["header"]["sequence_number"] = seq
    msg["ifindex"] = ifindex
    msg["state"] = NUD_PERMANENT
    if kind == "fdb":
        msg["family"] = socket.AF_BRIDGE
        msg["flags"] = NTF_SELF
        msg["attrs"] = [("NDA_LLADDR", key), ("NDA_DST", value)]
    else:
        msg["family"] = socket.AF_INET
        msg["attrs"] = [("NDA_DST", key), ("NDA_LLADDR", value)]
    msg.encode()
    return msg.data


class _Stamp:
    """A message encoded by pyroute2 with marker addresses, copied with real ones stamped in."""

    IP_MARK = "192.0.2.254"            # markers share no bytes with each other
    MAC_MARK = "02:5e:aa:bb:cc:dd"

    def __init__(self, kind, ifindex, remove):
        self.kind = kind
        key, value = (self.MAC_MARK, self.IP_MARK) if kind == "fdb" else (self.IP_MARK, self.MAC_MARK)
        self.template = bytes(_message(kind, ifindex, key, value, remove, 0))
        ip_mark, mac_mark = socket.inet_aton(self.IP_MARK), _mac_bytes(self.MAC_MARK)
        self.ip_at = self.template.find(ip_mark)
        self.mac_at = self.template.find(mac_mark)
        if self.template.count(ip_mark) != 1 or self.template.count(mac_mark) != 1:
            raise PeerError("cannot locate the addresses in pyroute2's %s message" % kind)

    def __call__(self, key, value, seq):
        ip, mac = (value, key) if self.kind == "fdb" else (key, value)
        data = bytearray(self.template)
        struct.pack_into("=I", data, 8, seq)       # nlmsghdr: len, type, flags, seq, pid
        data[self.ip_at:self.ip_at + 4] = socket.inet_aton(ip)
        data[self.mac_at:self.mac_at + 6] = _mac_bytes(mac)
        return data


def _mac_bytes(mac):
    return bytes.fromhex(mac.replace(":", ""))


def apply(ipr, ifindex, changes, first_seq=0x5000):
    """Send every change as batched messages; raise PeerError listing failures."""
    messages, labels = [], {}
    seq = first_seq
    # Removals first so a MAC moving to another IP never collides with itself.
    for remove, what in ((True, "remove"), (False, "add")):
        for kind in ("fdb", "neigh"):
            if not changes[kind][what]:
                continue
            stamp = _Stamp(kind, ifindex, remove)
            for key, value in changes[kind][what]:
                labels[seq] = "%s %s %s %s" % (what, kind, key, value)
                messages.append(stamp(key, value, seq))
                seq += 1
    if not messages:
        return
    # A request the kernel always answers (get this link) closes the batch: when
    # its answer arrives, every earlier message has been processed.
    fence = ifinfmsg()
    fence["header"]["type"] = RTM_GETLINK
    fence["header"]["flags"] = NLM_F_REQUEST | NLM_F_ACK
    fence["header"]["sequence_number"] = seq
    fence["index"] = ifindex
    fence.encode()
    messages.append(fence.data)

    chunk = bytearray()
    for data in messages:
        if len(chunk) + len(data) > CHUNK_BYTES:
            ipr.sendto(bytes(chunk), (0, 0))
            chunk = bytearray()
        chunk += data
    ipr.sendto(bytes(chunk), (0, 0))
    failures = _collect(ipr, seq, labels)
    if failures:
        raise PeerError("; ".join(failures))


def _collect(ipr, fence_seq, labels):
    failures = []
    while True:
        for msg in ipr.marshal.parse(ipr.recv(1 << 20)):
            msg_seq = msg["header"]["sequence_number"]
            if msg_seq == fence_seq:
                return failures
            if msg["header"]["type"] == NLMSG_ERROR and msg.get("error"):
                failures.append("%s: errno %d" % (labels.get(msg_seq, msg_seq), -msg["error"]))
