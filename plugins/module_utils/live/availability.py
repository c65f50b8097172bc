# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which tasks get traffic: the live layer's facts, and the one rule everything applies.

The live agent of each host writes what it knows to STATE_DIR/live/facts.json: the status
of every cluster host (from Serf) and the health of every task (its own tasks from its
health checks, the others' from their Serf tags). The balancing modules, the restore and
the agent itself mask backends with it, and the resolver masks `tasks.NAME` and dnsrr
answers, all through allowed() below, so Ansible and the agent never disagree.

The rule: a task gets traffic when its host is alive and the task is healthy. When no task
of a service is healthy, every task on a live host that may answer gets traffic (fail open, as
Envoy's panic mode and AWS load balancers do): a health check that is wrong never takes a
service down by itself. A task held by a rollout or stopped may not answer (a held one is about
to stop, or has: a start-first handover holds the old task, then stops it), so failing open
never sends it traffic. A task on a host that is failed, has left or was never seen gets no
traffic, and a service with no task on a live host takes no new connection (its VIP refuses at
once).
A task held back on a live host, or on a host that is leaving or has left, keeps the
connections it has (mask_backends()).

Facts that are missing, from another boot, or not refreshed for STALE_AFTER seconds (the
agent is gone) mask nothing: without a live layer, traffic goes where the plan says.

Standard library only: the resolver program carries a copy of this file.
"""

from __future__ import annotations

import functools
import json
import os
import time

LIVE_DIR = "live"
FACTS = "facts.json"
STALE_AFTER = 15.0          # the agent refreshes its facts every 3 s
ALIVE = "alive"
# Serf's statuses of a host that said it goes (a shutdown: Serf leaves, lingers, and only then
# are the host's tasks stopped, host/live.py LEAVE_DRAIN): its tasks still answer a while.
LEAVING = ("leaving", "left")
HEALTHY = "healthy"
UNHEALTHY = "unhealthy"     # health.UNHEALTHY: failing its checks, but it may answer
# The states of a task that may not answer at all: held by a rollout (hold.HELD), its process
# stopped (health.STOPPED), or either of the two on another host (its health tag says OUT).
HELD, STOPPED, OUT = "held", "stopped", "out"
CANNOT_ANSWER = (HELD, STOPPED, OUT)
BOOT_ID = "/proc/sys/kernel/random/boot_id"


def live_dir(state_dir):
    return os.path.join(state_dir, LIVE_DIR)


def facts_path(state_dir):
    return os.path.join(live_dir(state_dir), FACTS)


@functools.lru_cache(maxsize=1)
def boot_id():
    """This boot's id (read once: a process does not outlive its boot)."""
    try:
        with open(BOOT_ID) as f:
            return f.read().strip()
    except OSError:
        return None


def read(state_dir, now=None):
    """The facts to mask with, or None when there are none worth trusting."""
    path = facts_path(state_dir)
    try:
        with open(path) as f:
            facts = json.load(f)
        age = (now or time.time()) - os.stat(path).st_mtime
    except (OSError, ValueError):
        return None
    if not isinstance(facts, dict) or facts.get("boot") != boot_id() or age > STALE_AFTER:
        return None
    return facts


def write(state_dir, facts):
    """Replace the facts in one rename (readers never see half a file)."""
    path = facts_path(state_dir)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = "%s.tmp%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(dict(facts, boot=boot_id()), f, sort_keys=True, indent=1)
    os.replace(tmp, path)


def _on_hosts(tasks, facts, statuses):
    if facts is None:
        return set(tasks)
    hosts = facts.get("hosts") or {}
    return {t for t in tasks if hosts.get(t[0]) in statuses}


def on_live_hosts(tasks, facts):
    """The tasks, of [(host, name)], whose host is alive (all of them without facts)."""
    return _on_hosts(tasks, facts, (ALIVE,))


def still_answering(tasks, facts):
    """The tasks, of [(host, name)], whose connections may still be answered: those on live
    hosts and on hosts that left (all of them without facts)."""
    return _on_hosts(tasks, facts, (ALIVE,) + LEAVING)


def allowed(tasks, facts):
    """The tasks, of [(host, name)] of one service, that get traffic."""
    live = on_live_hosts(tasks, facts)
    if facts is None:
        return live
    health = facts.get("tasks") or {}
    states = {t: (health.get(t[0]) or {}).get(t[1]) for t in live}
    healthy = {t for t, state in states.items() if state == HEALTHY}
    return healthy or {t for t, state in states.items() if state not in CANNOT_ANSWER}


def mask_backends(services, facts):
    """Balancing entries (ipvs_service's services) as the rule has them.

    A backend the rule holds back on a live host is quiesced (weight 0): it takes no new
    connection, and the connections it has finish. Docker deweights a task it disables the
    same way; removing it would drop a request in flight to a task that is only slow. So is a
    backend on a host that is leaving or has left: at a shutdown its tasks serve on until the
    others have heard of the leave. A backend on a host that failed or was never seen is
    removed: nothing would answer its connections. A backend names its task with `task` and
    `host`; one that does not is never held back."""
    out = []
    for svc in services or []:
        backends = svc.get("backends") or []
        tasks = [(b["host"], b["task"]) for b in backends if b.get("task") and b.get("host")]
        keep, answering = allowed(tasks, facts), still_answering(tasks, facts)
        masked = []
        for backend in backends:
            task = (backend.get("host"), backend.get("task"))
            if not (task[0] and task[1]) or task in keep:
                masked.append(backend)
            elif task in answering:
                masked.append(dict(backend, weight=0))
        out.append(dict(svc, backends=masked))
    return out


def serving(services, facts):
    """{(host, task)} of the registry's tasks that get traffic (what DNS answers with); None: all."""
    if facts is None:
        return None
    out = set()
    for svc in services or []:
        out |= allowed([(t.get("host"), t.get("name")) for t in svc.get("tasks") or []], facts)
    return out
