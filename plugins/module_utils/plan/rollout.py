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


# ---- which tasks roll, and in what batches ----------------------------------------------------

PROCESS = ("command", "env", "user", "working_dir")     # a task's spec: what its process starts with
GRACE = 10.0        # seconds a batch may take beyond its health budget (start, first probe, a slow host)


def process(item):
    """What a task's process starts with: the keys of its item that make its spec."""
    return {key: item.get(key) for key in PROCESS if item.get(key) is not None}


def _slot_order(name):
    """web.2 before web.10; a global task (SERVICE.HOST) by its host's name."""
    slot = name.rsplit(".", 1)[-1]
    return (0, int(slot), "") if slot.isdigit() else (1, 0, slot)


def settle_time(config, check):
    """How long a batch's tasks may take to be healthy: `monitor`, plus what the healthcheck needs to
    pass once after a start (its start period, and `retries` probes an interval apart), plus GRACE."""
    budget = config["monitor"] + GRACE
    if check is not None:
        budget += check["start_period"] + check["interval"] * (check["retries"] + 1)
    return budget


def changed_tasks(service, desired_by_host, reported):
    """[(host, task item now, task item applied)] of `service`'s running tasks whose spec changed.

    Only what runs rolls: a task the host reports installed, applied in the same sandbox. New tasks
    start as usual (held out of balancing until healthy by the live layer)."""
    out = []
    for host in sorted(desired_by_host):
        live = reported.get(host) or {}
        running = set(live.get("tasks") or [])
        applied = {t.get("name"): t for t in live.get("task_specs") or [] if isinstance(t, dict)}
        for item in desired_by_host[host]["tasks"]:
            old = applied.get(item["name"])
            if item["service"] != service or item["name"] not in running or old is None \
                    or old.get("sandbox") != item["sandbox"]:
                continue
            if process(old) != process(item):
                out.append((host, item, old))
    return sorted(out, key=lambda t: _slot_order(t[1]["name"]))


def running_check(reported, host, name, planned):
    """The healthcheck task `name` of `host` is probed with now (its agent's), or `planned` where the host
    did not say (no live layer yet). A check goes with the spec a task runs: a task whose spec rolls keeps
    this one until its step restarts it, and a rollback's step puts it back."""
    checks = (reported.get(host) or {}).get("task_checks") or {}
    return checks[name] if name in checks else planned


def batches(services, desired_by_host, reported):
    """The rollout of this run: for each service, in the order declared, its changed tasks in batches of
    `parallelism` (0: one batch), each with what the play needs to roll it and to roll it back: per host,
    the task names, their previous items, and the healthcheck of each spec (`checks`, `previous_checks`)."""
    out = []
    for svc in services:
        changed = changed_tasks(svc["name"], desired_by_host, reported)
        if not changed:
            continue
        config = svc["update_config"]
        size = config["parallelism"] or len(changed)
        chunks = [changed[i:i + size] for i in range(0, len(changed), size)]
        for number, chunk in enumerate(chunks, 1):
            names, previous, checks, previous_checks = {}, {}, {}, {}
            for host, item, old in chunk:
                names.setdefault(host, []).append(item["name"])
                previous.setdefault(host, []).append(dict(old))
                checks.setdefault(host, {})[item["name"]] = svc["healthcheck"]
                previous_checks.setdefault(host, {})[item["name"]] = running_check(
                    reported, host, item["name"], svc["healthcheck"])
            out.append(dict(config, service=svc["name"], batch=number, batches=len(chunks),
                            tasks=[{"host": host, "name": item["name"]} for host, item, _old in chunk],
                            names=names, previous=previous, checks=checks, previous_checks=previous_checks,
                            settle=settle_time(config, svc["healthcheck"])))
    return out


def rolling(rollout, host):
    """Names of the tasks of `host` that roll in this run."""
    return {name for batch in rollout for name in batch["names"].get(host, [])}


def kept_previous(rollout, failed, host):
    """The previous items, on `host`, of the tasks that keep the spec they run once batch `failed` stopped
    its service's rollout: with rollback every batch of the service (those rolled back, those not
    reached), with pause the batches not reached. The rest of the run must not start them on the new spec."""
    stopped = rollout[failed]
    keep = rollout if stopped["failure_action"] == "rollback" else rollout[failed + 1:]
    return [dict(item) for batch in keep if batch["service"] == stopped["service"]
            for item in batch["previous"].get(host, [])]
