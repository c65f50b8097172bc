# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Serf's event handler: tell the live agent that membership or a host's health changed.

Serf runs this for each event (SERF_EVENT, SERF_USER_EVENT in the environment, the
payload on stdin) and waits for it, so it only forwards one datagram to the agent's
socket and returns; the agent then asks Serf for the members and their tags.
"""

from __future__ import annotations

import os
import socket
import sys


def message(environ, payload):
    event = environ.get("SERF_EVENT", "")
    if event == "user":
        return ("user %s %s" % (environ.get("SERF_USER_EVENT", ""), payload.strip())).encode()[:1024]
    return event.encode()


def main(argv):
    payload = sys.stdin.read(4096) if not sys.stdin.isatty() else ""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendto(message(os.environ, payload), argv[0])
        except OSError:
            pass            # no agent listening (starting, or stopped): it asks Serf itself when it starts
    return 0
