# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Serf's event handler, and how the live agent reads what it sends.

Serf runs the handler through /bin/sh for each event, one at a time, and waits for it, at its
own priority (ahead of the tasks). So the handler is one short process: logger(1) (util-linux,
on every Debian host) sends one datagram to the agent's socket, with the event, the user
event's name and the first line of its payload. A Python handler cost 0.5-0.8 s of CPU per
event on an emulated CPU, taken from the tasks on every host at once.
"""

from __future__ import annotations

import shlex

from ansible_collections.swarmnet.overlay.plugins.module_utils.live import membership

TAG = "swarmnet-live"           # logger's tag: the message follows "TAG: " in the datagram


def command(socket_path):
    """The handler, as Serf runs it (/bin/sh -c). With no agent listening it sends nothing and
    succeeds: the agent asks Serf itself when it starts."""
    return ('read -r payload; exec logger -d -u %s --socket-errors=off -t %s -- '
            '"$SERF_EVENT ${SERF_USER_EVENT:-} $payload"' % (shlex.quote(socket_path), TAG))


def parse(datagram):
    """What a datagram of command() asks of the agent: ("hint", host, tag) for a host's new
    health tag, ("seq", host, number) for a tag too long for its event (the agent reads it from
    Serf), or ("poll",) for a membership change (the agent asks Serf for the members)."""
    text = datagram.decode(errors="replace")
    words = text.split(" %s: " % TAG, 1)[-1].split()
    if words[:2] == ["user", membership.HINT_EVENT] and len(words) == 4:
        host, tag = words[2], words[3]
        return ("seq", host, int(tag)) if tag.isdigit() else ("hint", host, tag)
    return ("poll",)
