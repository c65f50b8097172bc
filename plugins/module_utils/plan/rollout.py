# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a service's tasks roll to a new spec: Swarm's update_config, checked, with Swarm's defaults (pure).

parallelism: tasks updated at once (0: all at once, as Swarm); delay: between two batches;
order: stop-first (the old task stops before the new one starts) or start-first; failure_action:
what a batch whose tasks are not healthy within `monitor` does (pause, rollback, continue).
"""

from __future__ import annotations

from ansible_collections.swarmnet.overlay.plugins.module_utils.live import health

ORDERS = ("stop-first", "start-first")
FAILURE_ACTIONS = ("pause", "rollback", "continue")
DEFAULTS = {"parallelism": 1, "delay": 0.0, "order": "stop-first", "failure_action": "pause", "monitor": 5.0}


def _whole(value):
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None if isinstance(value, bool) or not isinstance(value, int) else value


def normalise(config, add):
    """update_config with every key set; add(suffix, value, why) for each bad value."""
    config = config or {}
    out = dict(DEFAULTS)
    if "parallelism" in config:
        count = _whole(config["parallelism"])
        if count is None or count < 0:
            add(".parallelism", config["parallelism"], "must be an integer, 0 or more (0: every task at once)")
        else:
            out["parallelism"] = count
    for name in ("delay", "monitor"):
        if name in config:
            seconds = health.duration(config[name])
            if seconds is None or seconds < 0:
                add("." + name, config[name], "must be a duration, 0 or more (seconds, or such as 10s, 1m30s)")
            else:
                out[name] = seconds
    for name, allowed in (("order", ORDERS), ("failure_action", FAILURE_ACTIONS)):
        if name in config:
            if config[name] not in allowed:
                add("." + name, config[name], "must be one of %s" % ", ".join(allowed))
            else:
                out[name] = config[name]
    return out
