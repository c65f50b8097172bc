# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the live agent is told on its socket: Serf's event handler, and a hold just written.

Serf runs the handler through /bin/sh for each event, one at a time, and waits for it, at its
own priority (ahead of the tasks). So the handler is one short process: logger(1) (util-linux,
on every Debian host) sends one datagram to the agent's socket, with the event, the user
event's name and the first line of its payload. A Python handler cost 0.5-0.8 s of CPU per
event on an emulated CPU, taken from the tasks on every host at once.
task_hold sends one datagram in the same form once it changed held.json or the tasks' checks in
agent.json, so that the agent reads them at once (it reads both files at any datagram) rather than at
its next look.
"""

from __future__ import annotations

import os
import shlex
import socket

from ansible_collections.swarmnet.overlay.plugins.module_utils.live import availability, membership

TAG = "swarmnet-live"           # logger's tag: the message follows "TAG: " in the datagram
SOCKET = "agent.sock"
HELD = "held"                   # the message of a hold written or taken away


def socket_path(state_dir):
    return os.path.join(availability.live_dir(state_dir), SOCKET)


def command(path):
    """The handler, as Serf runs it (/bin/sh -c), sending to the socket at path. With no agent
    listening it sends nothing and succeeds: the agent asks Serf itself when it starts."""
    return ('read -r payload; exec logger -d -u %s --socket-errors=off -t %s -- '
            '"$SERF_EVENT ${SERF_USER_EVENT:-} $payload"' % (shlex.quote(path), TAG))


def tell_held(state_dir):
    """Tell the agent that held.json (or agent.json) changed. True when it was sent; with no agent listening
    (none yet, stopped) nothing is sent: the agent reads the file when it starts."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(("%s: %s" % (TAG, HELD)).encode(), socket_path(state_dir))
        return True
    except OSError:
        return False


def parse(datagram):
    """What a datagram asks of the agent: ("hint", host, tag) for a host's new health tag,
    ("seq", host, number) for a tag too long for its event (the agent reads it from Serf),
    ("held",) for a hold written or taken away (tell_held), or ("poll",) for a membership
    change (the agent asks Serf for the members)."""
    text = datagram.decode(errors="replace")
    words = text.split("%s: " % TAG, 1)[-1].split()
    if words == [HELD]:
        return (HELD,)
    if words[:2] == ["user", membership.HINT_EVENT] and len(words) == 4:
        host, tag = words[2], words[3]
        return ("seq", host, int(tag)) if tag.isdigit() else ("hint", host, tag)
    return ("poll",)
