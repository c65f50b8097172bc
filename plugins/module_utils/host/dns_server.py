# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The swarmnet resolver: service discovery at 127.0.0.11:53 (UDP and TCP) inside every sandbox.

One process per host, in the host's network namespace, holding a listening socket
pair inside each sandbox (made there with setns, as Docker's embedded DNS does), so
it knows which sandbox asks and answers from that sandbox's view (dns_records).
Names that are not the cluster's go to the upstream resolvers over UDP, over TCP
when the answer is truncated, and an upstream that does not answer in time gives
SERVFAIL. Its records are STATE_DIR/dns.json; SIGHUP re-reads them at once; after a restart it serves from them.
Five times a second it reads the live layer's facts: tasks held back (down, unhealthy, on a
failed host) leave `tasks.NAME` and dnsrr answers, and come back with them. Every second it
also opens sockets in sandboxes made since (after a reboot the resolver starts before
they exist) and in one removed and made again under the same name.

Speed: a local answer is packed once and kept, keyed by the question's bytes after
the ID, until the records change; a repeated question costs a dictionary lookup and
a sendto, so the loop keeps up with dnsmasq (bench/dns.py). Shuffled dnsrr answers
are never kept.

This file is also the program (`python dns_server.py STATE_DIR`); it needs dnslib.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import random
import selectors
import signal
import socket
import struct
import sys
import threading
import time

try:
    from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import thread_netns
    from ansible_collections.swarmnet.overlay.plugins.module_utils.live import availability
    from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import dns_records
except ImportError:  # run as a program, next to copies of these files
    import availability  # pylint: disable=import-error
    import dns_records  # pylint: disable=import-error
    import thread_netns  # pylint: disable=import-error

try:
    from dnslib import RCODE, DNSRecord
except ImportError:  # the svc_dns module reports a missing dnslib
    DNSRecord = None

ADDRESS = "127.0.0.11"
PORT = 53
CONFIG = "dns.json"
LOADED = "dns.loaded"        # what the resolver serves now: {"digest": of dns.json, "sandboxes": [...]}
RESYNC = 1.0                 # seconds between looks for sandboxes made (again) since
FACTS_CHECK = 0.2            # seconds between looks at the live layer's facts
DEFAULT_TIMEOUT = 2.0
PACKED_LIMIT = 10000         # kept answers; all are dropped when full (names are few, flags vary)
BURST = 64                   # datagrams read from one socket before the others get a turn


def config_path(state_dir):
    return os.path.join(state_dir, CONFIG)


def digest(text):
    return hashlib.sha256(text.encode()).hexdigest()


def load(state_dir):
    """(configuration, its digest); an empty configuration when the file is missing or broken."""
    try:
        with open(config_path(state_dir)) as f:
            text = f.read()
        return json.loads(text), digest(text)
    except (OSError, ValueError):
        return {}, None


def loaded_path(state_dir):
    return os.path.join(state_dir, LOADED)


def netns_id(name):
    """The identity of namespace /run/netns/NAME (its nsfs inode), None when there is none."""
    try:
        st = os.stat("/run/netns/" + name)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def listen_in(netns, address=ADDRESS, port=PORT):
    """A UDP and a TCP socket bound inside the sandbox."""
    with thread_netns.inside(netns):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            udp.bind((address, port))
            tcp.bind((address, port))
            tcp.listen(64)
            udp.setblocking(False)
        except OSError:
            udp.close()
            tcp.close()
            raise
    return udp, tcp


class Upstreams:
    """Forwarding of names that are not the cluster's."""

    def __init__(self, servers, timeout):
        self.servers, self.timeout = servers, timeout

    def ask(self, query):
        """The upstream's reply bytes, a SERVFAIL when none answers in time, None for garbage."""
        request = _parse(query)
        if request is None:
            return None
        for server in self.servers:
            try:
                reply = request.send(server, 53, timeout=self.timeout)
                if DNSRecord.parse(reply).header.tc:
                    reply = request.send(server, 53, tcp=True, timeout=self.timeout)
                return reply
            except (OSError, ValueError):
                continue
        failed = request.reply()
        failed.header.rcode = RCODE.SERVFAIL
        return failed.pack()


class Resolver:
    def __init__(self, state_dir, address=ADDRESS, port=PORT):
        self.state_dir, self.address, self.port = state_dir, address, port
        self.selector = selectors.DefaultSelector()
        self.sockets = {}        # sandbox -> (netns_id, udp, tcp)
        self.digest = None       # of the dns.json served
        # (views by sandbox, packed answers by (sandbox, query[2:])), swapped as one on reload
        # so no answer packed from old records lands among the new ones
        self.served = ({}, {})
        self.config = {}
        self.serving = None      # tasks the live layer lets answer (None: every task)
        self.upstreams = Upstreams([], DEFAULT_TIMEOUT)
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=16)
        self.rng = random.Random()

    def reload(self):
        self.config, self.digest = load(self.state_dir)
        self.serving = availability.serving(self.config.get("services"), availability.read(self.state_dir))
        self._build()
        self.upstreams = Upstreams(self.config.get("upstreams") or [],
                                   float(self.config.get("timeout") or DEFAULT_TIMEOUT))
        self.sync_sockets(force_report=True)

    def _build(self):
        config = self.config
        ttl = int(config.get("ttl") or dns_records.DEFAULT_TTL)
        self.served = ({name: dns_records.View(config.get("services") or [], networks, config.get("domain"), ttl,
                                               self.serving)
                        for name, networks in (config.get("sandboxes") or {}).items()}, {})

    def follow_live_layer(self):
        """Answer with the tasks the live agent lets serve now (a task down leaves tasks.NAME at once)."""
        serving = availability.serving(self.config.get("services"), availability.read(self.state_dir))
        if serving != self.serving:
            self.serving = serving
            self._build()

    def sync_sockets(self, force_report=False):
        """Sockets in exactly the configured sandboxes that exist; reports what is served (svc_dns waits on it)."""
        wanted = self.served[0]
        changed = force_report
        for name in sorted(self.sockets):
            if name not in wanted or netns_id(name) != self.sockets[name][0]:
                self._close(name)           # gone, or made again: its sockets are in the old namespace
                changed = True
        for name in sorted(set(wanted) - set(self.sockets)):
            ident = netns_id(name)
            if ident is None:
                continue                    # not made yet: a later look opens it
            try:
                udp, tcp = listen_in(name, self.address, self.port)
            except OSError as exc:      # one sandbox's trouble must not take the others down
                sys.stderr.write("sandbox %s: %s\n" % (name, exc))
                sys.stderr.flush()
                continue
            self.sockets[name] = (ident, udp, tcp)
            self.selector.register(udp, selectors.EVENT_READ, (name, "udp"))
            self.selector.register(tcp, selectors.EVENT_READ, (name, "tcp"))
            changed = True
        if changed:
            with open(loaded_path(self.state_dir), "w") as f:
                json.dump({"digest": self.digest, "sandboxes": sorted(self.sockets)}, f)

    def _close(self, name):
        for sock in self.sockets.pop(name)[1:]:
            self.selector.unregister(sock)
            sock.close()

    def local(self, sandbox, query):
        """The reply bytes when the name is the cluster's, else None (never blocks)."""
        views, packed = self.served
        kept = packed.get((sandbox, query[2:]))
        if kept is not None:
            return query[:2] + kept
        request, view = _parse(query), views.get(sandbox)
        if request is None or view is None:
            return None
        answer = dns_records.answer(view, request, self.rng.shuffle)
        if answer is None:
            return None
        reply = answer.pack()
        if dns_records.repeatable(view, request):
            if len(packed) >= PACKED_LIMIT:
                packed.clear()
            packed[(sandbox, query[2:])] = reply[2:]
        return reply

    def reply(self, sandbox, query):
        """Reply bytes; forwards what is not the cluster's (blocking: call it off the main loop)."""
        local = self.local(sandbox, query)
        return local if local is not None else self.upstreams.ask(query)

    def _forward(self, sock, query, client):
        _send(sock, self.upstreams.ask(query), client)

    def _datagrams(self, sock, sandbox):
        """Answer what the socket holds: local names here, the others on the thread pool."""
        for _datagram in range(BURST):
            try:
                query, client = sock.recvfrom(4096)
            except OSError:         # drained
                return
            local = self.local(sandbox, query)
            if local is not None:
                _send(sock, local, client)
            else:
                self.pool.submit(self._forward, sock, query, client)

    def _tcp(self, conn, sandbox):
        with conn:
            conn.settimeout(5)
            try:
                while True:
                    head = conn.recv(2, socket.MSG_WAITALL)
                    if len(head) < 2:
                        return
                    query = conn.recv(struct.unpack("!H", head)[0], socket.MSG_WAITALL)
                    reply = self.reply(sandbox, query)
                    if reply is None:
                        return
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
            except OSError:
                return

    def serve(self, stop, reload):
        self.reload()
        next_sync = time.monotonic() + RESYNC
        next_facts = time.monotonic() + FACTS_CHECK
        while not stop.is_set():
            if reload.is_set():
                reload.clear()
                self.reload()
            if time.monotonic() >= next_facts:
                self.follow_live_layer()
                next_facts = time.monotonic() + FACTS_CHECK
            if time.monotonic() >= next_sync:
                self.sync_sockets()
                next_sync = time.monotonic() + RESYNC
            for key, _events in self.selector.select(timeout=0.1):
                sandbox, kind = key.data
                if kind == "udp":
                    self._datagrams(key.fileobj, sandbox)
                else:
                    conn, _peer = key.fileobj.accept()
                    threading.Thread(target=self._tcp, args=(conn, sandbox), daemon=True).start()
        for name in sorted(self.sockets):
            self._close(name)
        self.pool.shutdown(wait=False)


def _send(sock, reply, client):
    if reply is None:
        return
    try:
        sock.sendto(reply, client)
    except OSError:     # a full send buffer or a vanished sandbox: the client asks again
        pass


def _parse(query):
    try:
        return DNSRecord.parse(query)
    except Exception:  # pylint: disable=broad-except  # dnslib raises several kinds on garbage
        return None


def main(state_dir):
    stop, reload = threading.Event(), threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGHUP, lambda *_: reload.set())
    Resolver(state_dir).serve(stop, reload)


if __name__ == "__main__":
    main(sys.argv[1])
