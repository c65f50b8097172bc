# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cluster membership and failure detection: HashiCorp Serf, one agent per host.

Serf (Debian's package) gossips on the control port (7946, tcp and udp, as Swarm's
memberlist does), encrypted with the cluster's key, and tells every host which hosts are
alive, failed or gone. Each host's health is a Serf tag, so it reaches every other host
with the membership and survives partitions. Nothing here speaks the gossip protocol:
this file writes the agent's configuration and drives the `serf` command line.

The health tag: `SEQ.GEN.BITS[.OUT]`, where GEN names the host's task list (a digest of the
sorted task names every host knows from the plan), BITS has one bit per task in that order,
set when the task is healthy, and OUT one bit per task, set when it may not answer at all
(held by a rollout or stopped: failing open never sends it traffic). OUT is left off while
no task is out, so such a tag reads as it did before OUT. Serf caps all tags of a node at 512
bytes together; two bits per task leave room for about 1400 tasks per host.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess

from ansible_collections.swarmnet.overlay.plugins.module_utils.live import availability

SERF = "serf"
DEFAULT_RPC_PORT = 7373
HEALTH_TAG = "health"
HINT_EVENT = "swarmnet-health"      # a user event that carries a host's new health tag
# Membership changes, and the health events. Not member-update: a tag change comes with its own
# event, and Serf runs one handler at a time (a second per run on a busy emulated CPU).
EVENTS = "member-join,member-leave,member-failed,member-reap,user:" + HINT_EVENT
KEY_HEX_DIGITS = 64                 # AES-256, the largest key Serf takes
RECONNECT_INTERVAL = "5s"           # Serf's default is 30 s; a host back on the network rejoins sooner


class MembershipError(Exception):
    pass


def key_error(key):
    """Why `key` cannot be the cluster's gossip key, or None when it can. Never shows the key."""
    if not isinstance(key, str) or len(key) != KEY_HEX_DIGITS or any(c not in "0123456789abcdefABCDEF" for c in key):
        return "must be %d hex digits (a 32-byte key); got %s" % (
            KEY_HEX_DIGITS, "%d characters" % len(key) if isinstance(key, str) else type(key).__name__)
    return None


def rpc_auth(key):
    """The RPC token, derived from the cluster key: only root (who can read the config) drives the agent."""
    return hmac.new(bytes.fromhex(key), b"swarmnet serf rpc", hashlib.sha256).hexdigest()[:32]


def config_text(node, address, port, key, rpc_addr, handler):
    """The agent's configuration (it holds the key: write it 0600)."""
    return json.dumps({
        "node_name": node,
        "bind": "%s:%d" % (address, port),
        "advertise": "%s:%d" % (address, port),
        "rpc_addr": rpc_addr,
        "rpc_auth": rpc_auth(key),
        "encrypt_key": base64.b64encode(bytes.fromhex(key)).decode(),
        "event_handlers": ["%s=%s" % (EVENTS, handler)],
        "leave_on_terminate": True,        # a host stopped on purpose leaves at once, not after failure detection
        "reconnect_interval": RECONNECT_INTERVAL,
        "log_level": "warn",
    }, sort_keys=True, indent=1) + "\n"


class Serf:
    """The local agent, through its command line (RPC address and token passed in the environment)."""

    def __init__(self, rpc_addr, auth, timeout=10.0):
        self.env = dict(os.environ, SERF_RPC_ADDR=rpc_addr, SERF_RPC_AUTH=auth)
        self.timeout = timeout

    def run(self, *args):
        try:
            done = subprocess.run([SERF] + list(args), env=self.env, capture_output=True, text=True,
                                  timeout=self.timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise MembershipError("serf %s: %s" % (args[0], exc))
        if done.returncode != 0:
            raise MembershipError("serf %s: %s" % (args[0], (done.stderr or done.stdout).strip()))
        return done.stdout

    def members(self):
        """[{name, addr, status, tags}] as this agent sees the cluster."""
        try:
            found = json.loads(self.run("members", "-format", "json")).get("members") or []
        except ValueError as exc:
            raise MembershipError("serf members: %s" % exc)
        return [{"name": m.get("name"), "addr": (m.get("addr") or "").rsplit(":", 1)[0],
                 "status": m.get("status"), "tags": m.get("tags") or {}} for m in found]

    def set_tag(self, key, value):
        self.run("tags", "-set", "%s=%s" % (key, value))

    def event(self, name, payload):
        self.run("event", "-coalesce=false", name, payload)

    def join(self, addresses):
        self.run("join", *addresses)

    def leave(self):
        self.run("leave")

    def forget(self, name):
        """A member that left or failed and is no host of the cluster any more: out of the list now."""
        self.run("force-leave", "-prune", name)


def statuses(members, hosts):
    """{host: status} for the planned hosts ({name: address}); a member whose address is not
    its host's planned one is not that host."""
    found = {m["name"]: m for m in members}
    out = {}
    for host, address in hosts.items():
        member = found.get(host)
        out[host] = member["status"] if member is not None and member["addr"] == address else "unknown"
    return out


# ---- the health tag --------------------------------------------------------------

def generation(names):
    return hashlib.sha256("\n".join(sorted(names)).encode()).hexdigest()[:8]


def _bitfield(names, chosen):
    bits = bytearray((len(names) + 7) // 8)
    for i, name in enumerate(names):
        if name in chosen:
            bits[i // 8] |= 1 << (i % 8)
    return base64.urlsafe_b64encode(bytes(bits)).decode().rstrip("=")


def _chosen(text, names):
    """The names whose bit is set in a bitfield of `names`; None when it is not one."""
    bits = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if len(bits) != (len(names) + 7) // 8:
        return None
    return {name for i, name in enumerate(names) if bits[i // 8] & (1 << (i % 8))}


def encode(seq, names, healthy, out=()):
    """The tag value for a host whose tasks are `names`: `healthy` those that pass, `out` those that
    may not answer at all."""
    names = sorted(names)
    value = "%d.%s.%s" % (seq, generation(names), _bitfield(names, healthy))
    return value + "." + _bitfield(names, out) if any(name in out for name in names) else value


def same_health(value, other):
    """Whether two tag values tell the same (their sequence numbers aside)."""
    return value.split(".", 1)[1:] == other.split(".", 1)[1:]


def decode(value, names):
    """(seq, {name: HEALTHY, UNHEALTHY or OUT (availability's states)}) from a tag value for tasks
    `names`; the map is None when the tag describes another task list (the sender runs an older or
    newer plan) or cannot be read."""
    try:
        seq, gen, text = value.split(".", 2)
        seq = int(seq)
        names = sorted(names)
        fields = [_chosen(part, names) for part in text.split(".")]
    except (AttributeError, ValueError):
        return None, None
    if gen != generation(names) or len(fields) > 2 or None in fields:
        return seq, None
    healthy, out = fields[0], fields[1] if len(fields) == 2 else set()
    return seq, {name: availability.HEALTHY if name in healthy else availability.OUT if name in out
                 else availability.UNHEALTHY for name in names}
