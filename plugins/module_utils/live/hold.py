# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tasks held out of traffic while they roll to a new spec: STATE_DIR/live/held.json.

The task_hold module writes it on the task's host; the live agent there reads it and tells
every host the task is not healthy (state HELD), which takes it out of every VIP and DNS
answer by the same path a failed healthcheck takes. A held task keeps its own health
underneath, so a rollout can wait for the new process to be healthy before letting it back.
Standard library only.
"""

from __future__ import annotations

import json
import os

from ansible_collections.swarmnet.overlay.plugins.module_utils.host import files
from ansible_collections.swarmnet.overlay.plugins.module_utils.live import availability, live_hint

FILE = "held.json"
HELD = availability.HELD     # the state this host's facts give a held task (OUT on the others)


def path(state_dir):
    return os.path.join(availability.live_dir(state_dir), FILE)


def read(state_dir):
    """The names held on this host (none when the file is missing or unreadable)."""
    try:
        names = json.loads(files.read(path(state_dir)) or "[]")
    except ValueError:
        return set()
    return {n for n in names if isinstance(n, str)} if isinstance(names, list) else set()


def text(names):
    return json.dumps(sorted(names)) + "\n"


def write(state_dir, names):
    """Holds exactly `names` on this host (none: no file), and tells the agent at once."""
    if names:
        files.write(path(state_dir), text(names), 0o644)
    elif os.path.exists(path(state_dir)):
        os.unlink(path(state_dir))
    live_hint.tell_held(state_dir)


def let_back_all(state_dir, changes):
    """Lets back every task held on this host, through `changes` (check mode: described)."""
    held = read(state_dir)
    if held:
        changes("let %s back into traffic (held by a run that did not end)" % ", ".join(sorted(held)),
                write, state_dir, set())
