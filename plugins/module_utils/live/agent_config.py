# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""agent.json, the live agent's configuration, as modules other than live_agent read and touch it:
the healthcheck each task of the host is probed with.

A healthcheck goes with the spec a task runs, as a container's goes with its image. The live role
writes agent.json before a rollout, keeping for each task that rolls the check the agent probes it
with (overlay_info reads them here for the plan); each step of the rollout then sets the check of
the spec it restarts its tasks on (task_hold), and the agent, told on its socket, reads the file
again. Standard library only: overlay_info and the waits import it.
"""

from __future__ import annotations

import hashlib
import json
import os
import time

from ansible_collections.swarmnet.overlay.plugins.module_utils.host import files
from ansible_collections.swarmnet.overlay.plugins.module_utils.live import availability

NAME = "agent.json"
MODE = 0o600        # it holds Serf's RPC token


def path(state_dir):
    return os.path.join(availability.live_dir(state_dir), NAME)


def text_of(config):
    """agent.json's text: the live_agent module writes it this way, and so a rewrite here keeps it as
    that module's next converge would write it where the plan agrees."""
    return json.dumps(config, sort_keys=True, indent=1) + "\n"


def checks(text):
    """{task: healthcheck} of an agent.json text ({} when there is none or it is unreadable)."""
    try:
        config = json.loads(text or "{}")
    except ValueError:
        return {}
    tasks = config.get("tasks") if isinstance(config, dict) else None
    return {t["name"]: t.get("healthcheck") for t in tasks if isinstance(t, dict) and "name" in t} \
        if isinstance(tasks, list) else {}


def probed_checks(state_dir):
    """{task: healthcheck} the agent of this host probes its tasks with."""
    return checks(files.read(path(state_dir)))


def with_checks(text, wanted):
    """The agent.json `text` with the healthcheck of each task named in `wanted` ({task: healthcheck})
    set to it. Tasks the configuration does not have are left out: the agent does not watch them."""
    config = json.loads(text)
    for spec in config.get("tasks") or []:
        if spec.get("name") in wanted:
            spec["healthcheck"] = wanted[spec["name"]]
    return text_of(config)


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
