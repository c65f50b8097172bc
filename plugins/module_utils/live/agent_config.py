# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""agent.json, the live agent's configuration: where it is, how its text is written, and a wait
until the agent has read a given one. Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import os
import time

from ansible_collections.swarmnet.overlay.plugins.module_utils.live import availability

NAME = "agent.json"
MODE = 0o600        # it holds Serf's RPC token


def path(state_dir):
    return os.path.join(availability.live_dir(state_dir), NAME)


def text_of(config):
    """agent.json's text, as the live_agent module writes it."""
    return json.dumps(config, sort_keys=True, indent=1) + "\n"


def wait_loaded(state_dir, text, timeout):
    """The agent's facts once it has read the configuration `text` (and Serf answered), or None after
    `timeout` seconds."""
    wanted = hashlib.sha256(text.encode()).hexdigest()
    deadline = time.time() + timeout
    while time.time() < deadline:
        facts = availability.read(state_dir)
        if facts is not None and facts.get("config") == wanted:
            return facts
        time.sleep(0.1)
    return None
