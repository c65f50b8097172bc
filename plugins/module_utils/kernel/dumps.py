# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Netlink reads: pyroute2's messages and parser on a plain socket.

pyroute2 0.9 answers every request of its IPRoute through an asyncio event loop, run once
per request by its synchronous API. For the reads a converge makes in every sandbox (its
links, addresses, default routes) that loop is most of the cost: 4.0 ms a sandbox on the
lab, against 1.7 ms for the same requests encoded and answers decoded by pyroute2 here,
sent and received on a socket of our own. Changes keep IPRoute and its error handling.
"""

from __future__ import annotations

import socket

from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import pyroute2_parts, thread_netns

try:
    pyroute2_parts.register()
    from pyroute2.netlink import NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST, NLMSG_DONE
    from pyroute2.netlink.exceptions import NetlinkDumpInterrupted
    from pyroute2.netlink.rtnl import RTM_GETADDR, RTM_GETLINK, RTM_GETNEIGH, RTM_GETROUTE
    from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
    from pyroute2.netlink.rtnl.marshal import MarshalRtnl
    from pyroute2.netlink.rtnl.ndmsg import ndmsg
    from pyroute2.netlink.rtnl.rtmsg import rtmsg
except ImportError:  # netns.require_pyroute2() reports it
    MarshalRtnl = None

# A dump's answer comes in datagrams of at most 32 KiB (the kernel's cap); a smaller buffer would
# cut one short.
RECV_BYTES = 64 * 1024
# A dump the kernel marks inconsistent (the table changed while it was walked) is asked again.
ATTEMPTS = 5


class Reader:
    """A NETLINK_ROUTE socket in namespace `name` (None: this thread's), for reading only. The
    methods take the names and filters of pyroute2's IPRoute that the collection reads with, so
    the readers in links, endpoint and peers take either."""

    def __init__(self, name=None, sock=None):
        """`sock`: a socket to read through instead of one of its own (the unit tests' datagrams)."""
        if sock is not None:
            self._sock = sock
        elif name is None:
            self._sock = _socket()
        else:
            with thread_netns.inside(name):     # a socket stays in the namespace it was made in
                self._sock = _socket()
        self._marshal = MarshalRtnl()
        self._seq = 0

    def close(self):
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def get_links(self, index=None):
        """Every link, or the one of `index` (asked by itself: the host namespace holds a veth end per
        sandbox on the gateway bridge)."""
        if index is None:
            return self._dump(ifinfmsg(), RTM_GETLINK)
        request = ifinfmsg()
        request["index"] = index
        return [self._get(request, RTM_GETLINK)]

    def get_addr(self, family=socket.AF_INET, index=None):
        request = ifaddrmsg()
        request["family"] = family
        found = self._dump(request, RTM_GETADDR)
        return [msg for msg in found if msg["family"] == family and index in (None, msg["index"])]

    def get_routes(self, family=socket.AF_INET, table=254):
        """The routes of `table` (a dump has every table; a route's RTA_TABLE tells beyond 255)."""
        request = rtmsg()
        request["family"] = family
        return [msg for msg in self._dump(request, RTM_GETROUTE)
                if msg["family"] == family and msg.get_attr("RTA_TABLE", msg["table"]) == table]

    def get_neighbours(self, family=socket.AF_INET, ifindex=None):
        request = ndmsg()
        request["family"] = family
        return [msg for msg in self._dump(request, RTM_GETNEIGH)
                if msg["family"] == family and ifindex in (None, msg["ifindex"])]

    def fdb(self, command, ifindex=None):
        """The bridge forwarding entries (`fdb("dump")`, as IPRoute has it) of one device or all."""
        if command != "dump":
            raise ValueError("a Reader only reads: fdb(%r)" % command)
        request = ndmsg()
        request["family"] = socket.AF_BRIDGE
        if ifindex is not None:
            request["ifindex"] = ifindex        # the kernel lists that port's entries only
        return [msg for msg in self._dump(request, RTM_GETNEIGH)
                if msg["family"] == socket.AF_BRIDGE and ifindex in (None, msg["ifindex"])]

    def _dump(self, request, kind):
        for _attempt in range(ATTEMPTS):
            found, consistent = self._dump_once(request, kind)
            if consistent:
                return found
        raise NetlinkDumpInterrupted()

    def _dump_once(self, request, kind):
        """([message], whether the kernel walked the table unchanged)."""
        self._send(request, kind, NLM_F_REQUEST | NLM_F_DUMP)
        found, consistent = [], True
        while True:
            for msg in self._answers():
                if msg["header"]["flags"] & NLM_F_DUMP_INTR:
                    consistent = False
                if msg["header"]["type"] == NLMSG_DONE:
                    return found, consistent
                found.append(msg)

    def _get(self, request, kind):
        """The one message the kernel answers a request for one object with."""
        self._send(request, kind, NLM_F_REQUEST)
        while True:
            for msg in self._answers():
                return msg

    def _send(self, request, kind, flags):
        self._seq += 1
        request["header"]["type"] = kind
        request["header"]["flags"] = flags
        request["header"]["sequence_number"] = self._seq
        request.reset()
        request.encode()
        self._sock.send(request.data)

    def _answers(self):
        """The messages of one datagram that answer the last request; an error answer raised."""
        for msg in self._marshal.parse(self._sock.recv(RECV_BYTES)):
            header = msg["header"]
            if header["sequence_number"] != self._seq:
                continue        # not this request's answer (each request is read to its end)
            if header.get("error") is not None:
                raise header["error"]
            yield msg


def _socket():
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE)
    try:
        sock.bind((0, 0))
    except OSError:
        sock.close()
        raise
    return sock
