# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""start-first updates: a slot has two task names, and the new task starts under the other one (pure).

A task here is a slot: a sandbox with its address and one process. A process cannot be replaced
in place without a moment in which nothing answers, so, as Swarm's updater starts a new task
(a new container and address) before it stops the old one, a start-first update starts the new
task under the slot's other name (web.1 <-> web.1.b): its own sandbox and address, beside the
old task, which keeps its spec. Once the new task is healthy the play drains and stops the old
one (or, if it never is, the new one) and plans again with `settle`, where each slot keeps the
one task that runs, as it runs.

Modes of a plan:
    begin    - a changed task of a start-first service gets the slot's other name and the new
               spec; the running one stays as the last converge applied it (the plan returns
               the pairs, the handover)
    settle   - after a handover: a task keeps the spec it runs with (a failed update stays undone
               until the next run tries it again)
    in_place - no live layer to hand over with: a changed task restarts in place, as stop-first
In every mode a slot's task takes the name that runs on its host, so the task of an earlier
handover keeps its name from one run to the next.
"""

from __future__ import annotations

from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import rollout

MODES = ("begin", "settle", "in_place")
SECOND = ".b"       # the suffix of a slot's second name: web.1.b, node.h1.b


def other_name(name):
    """The slot's other task name: web.1 <-> web.1.b."""
    return name[:-len(SECOND)] if name.endswith(SECOND) else name + SECOND


def _renamed(task, name):
    return dict(task, name=name, sandbox=name)


def _spec(svc, task):
    """What the task's process starts with, as service_task takes it."""
    return dict({"command": task["command"]}, **svc["process"])


def apply(services, reported, mode):
    """Name each task the collection runs by what runs on its host, and in `begin` mode add the old
    task of each start-first update beside the new one. Changes `services` in place; returns the
    handover, per service: [{service, failure_action, monitor, settle, tasks: [{host, name}] (the new
    ones), previous: [{host, name}] (the old ones, in the same order), new: {host: [names]},
    old: {host: [names]}}]."""
    handover = []
    for svc in services:
        start_first = svc["update_config"]["order"] == "start-first"
        pairs, tasks = [], []
        for task in svc["tasks"]:
            if task["command"] is None:         # a namespace of someone else's (tasks:)
                tasks.append(task)
                continue
            live = reported.get(task["host"]) or {}
            running = [n for n in (task["name"], other_name(task["name"])) if n in (live.get("tasks") or [])]
            applied = {t.get("name"): t for t in live.get("task_specs") or [] if isinstance(t, dict)}
            changed = {n: applied.get(n) is not None and rollout.process(applied[n]) != rollout.process(_spec(svc, task))
                       for n in running}
            if not running:
                tasks.append(task)
                continue
            # Two run after a handover that broke off: the one on the new spec stays (else the first).
            current = next((n for n in running if not changed[n]), running[0])
            if not changed[current] or not start_first or mode == "in_place":
                tasks.append(_renamed(task, current))
            elif mode == "settle":
                tasks.append(dict(_renamed(task, current), applied=applied[current]))
            else:
                old = applied[current]
                tasks.append(_renamed(task, other_name(current)))
                tasks.append(dict(_renamed(task, current), command=old.get("command"), applied=old))
                pairs.append({"host": task["host"], "name": other_name(current), "old": current})
        svc["tasks"] = tasks
        if pairs:
            handover.append(_handover(svc, pairs))
    return handover


def _handover(svc, pairs):
    config = svc["update_config"]
    new, old = {}, {}
    for pair in pairs:
        new.setdefault(pair["host"], []).append(pair["name"])
        old.setdefault(pair["host"], []).append(pair["old"])
    return {"service": svc["name"], "failure_action": config["failure_action"], "monitor": config["monitor"],
            "settle": rollout.settle_time(config, svc["healthcheck"]),
            "tasks": [{"host": p["host"], "name": p["name"]} for p in pairs],
            "previous": [{"host": p["host"], "name": p["old"]} for p in pairs], "new": new, "old": old}
