# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Task processes of one host, each a Batch item: what service_task and services_host run."""

from __future__ import annotations

import os

from ansible_collections.swarmnet.overlay.plugins.module_utils.host import supervisor, task
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import naming

PROCESS = ("env", "user", "working_dir")     # what a process starts with, each only when given

OPTIONS = dict(
    name=dict(type="str", required=True),
    service=dict(type="str"),
    sandbox=dict(type="str"),
    command=dict(type="list", elements="str"),
    env=dict(type="dict"),
    user=dict(type="str"),
    working_dir=dict(type="str"),
)

ERRORS = (task.TaskError, OSError)


def checked(module, given, present, key_of):
    """The runner's specs of the tasks `given` (items with the keys of OPTIONS), every one checked before any
    is touched; key_of(i, field) names an item's field in a message."""
    specs = []
    for i, item in enumerate(given):
        for field in ("name", "sandbox"):
            if item[field] is not None and not naming.SANDBOX_RE.match(item[field]):
                module.fail_json(msg="%s=%r: not a valid task or namespace name" % (key_of(i, field), item[field]))
        if present:
            if not item["sandbox"]:
                module.fail_json(msg="%s=%r: give the task's sandbox" % (key_of(i, "sandbox"), item["sandbox"]))
            if not item["command"]:
                module.fail_json(msg="%s=%r: give the program and its arguments" % (key_of(i, "command"), item["command"]))
            # In check mode the sandbox may be one the same run makes first.
            if not os.path.exists("/run/netns/" + item["sandbox"]) and not module.check_mode:
                module.fail_json(msg="%s=%r: no such network namespace (create the sandbox first)"
                                 % (key_of(i, "sandbox"), item["sandbox"]))
            problem = _process_problem(item)
            if problem is not None:
                module.fail_json(msg="%s=%r: %s" % (key_of(i, problem[0]), item[problem[0]], problem[1]))
        specs.append(dict({"name": item["name"], "service": item["service"] or item["name"].split(".")[0],
                           "netns": item["sandbox"], "command": item["command"]},
                          **{field: item[field] for field in PROCESS if item[field] is not None}))
    return specs


def _process_problem(item):
    """Why the host cannot start `item`'s process as asked (key, why), or None."""
    env = item["env"] or {}
    for name, value in env.items():
        if not isinstance(value, str) or "=" in name or not name:
            return "env", "must map variable names to strings"
    if item["user"] is not None:
        try:
            supervisor.user_entry(item["user"])
        except KeyError:
            return "user", "no such user on this host"
    if item["working_dir"] is not None and not os.path.isdir(item["working_dir"]):
        return "working_dir", "no such directory on this host"
    return None


def run(batch, runner, specs, present):
    """Each task as its spec says (or stopped and forgotten); returns {name: pid} of those that run."""
    if present:
        runner.observe([spec["name"] for spec in specs])
    results = [batch.run("task %s" % spec["name"], _reconcile(batch.check_mode, runner, spec, present)) for spec in specs]
    return {spec["name"]: result["pid"] for spec, result in zip(specs, results) if result.get("pid")}


def _reconcile(check_mode, runner, spec, present):
    def reconcile(changes):
        before = runner.describe(spec["name"])
        pid = None
        if present:
            pid = runner.ensure_present(spec, changes)
        else:
            runner.ensure_absent(spec["name"], changes)
        if not check_mode:
            after = runner.describe(spec["name"])
        else:
            after = runner.render(spec) if present else ""
        return before, after, {"pid": pid}
    return reconcile
