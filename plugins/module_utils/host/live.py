# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live layer on a host, installed: Serf and the live agent as supervised processes, their files.

What the live_agent module does, kept out of the module: where each file lives, the two
supervised specs (a new Serf configuration restarts Serf, new code restarts the agent; a new
task list or peer list only rewrites agent.json, which the running agent re-reads), waiting
until the agent has read its configuration, and removing all of it.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import TYPE_CHECKING

from ansible_collections.swarmnet.overlay.plugins.module_utils.host import deploy, task
from ansible_collections.swarmnet.overlay.plugins.module_utils.live import agent_config, availability, hold, live_hint

if TYPE_CHECKING:
    # Never run: it makes Ansible pack the agent program with live_agent (Ansible follows a module's
    # imports wherever they stand), and Layout.program_files() reads it from there.
    from ansible_collections.swarmnet.overlay.plugins.module_utils.live import live_agent  # noqa: F401 pylint: disable=unused-import

SERF_TASK = task.SERF_TASK
AGENT_TASK = "swarmnet-live"
# Serf and the agent act for every task of the host when one fails, and a busy host is when that
# matters: they do not wait behind the tasks for the CPU (nor do the serf commands and event
# handlers they start; exec probes go back to the default, probes.exec_argv).
CONTROL_NICE = -10
SERF_CONFIG = "serf.json"
# The agent program; the module deploys it and what it imports without importing it (pyroute2 is the agent's).
AGENT_PROGRAM = deploy.PACKAGE + ".live.live_agent"
# When Serf stops (at a shutdown: before the tasks, task.unit_text()), it leaves the cluster, and
# the tasks stop only this many seconds later: time for the leave to reach the other hosts and for
# their agents to drop this host's backends from every sandbox (0.2 s to the last host, then up to
# 2.1 s of balancing changes on an emulated CPU). Without it, a request sent in between met a task
# that had already closed its port (the VM verify's reboot, docs/DESIGN-NOTES.md).
LEAVE_DRAIN = 5


class LiveError(Exception):
    pass


def _digest(text):
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def view(services):
    """{host: [task names]}: which tasks each host runs, as every host knows from the plan."""
    out = {}
    for svc in services or []:
        for t in svc.get("tasks") or []:
            out.setdefault(t.get("host"), []).append(t.get("name"))
    return {host: sorted(names) for host, names in sorted(out.items())}


def agent_config_text(params, rpc_auth, rpc_addr):
    """agent.json: this host, its peers and tasks, and how to reach Serf (0600: it holds the RPC token)."""
    hosts = view(params["services"])
    hosts.setdefault(params["node"], [])
    hosts[params["node"]] = sorted(set(hosts[params["node"]]) | {t["name"] for t in params["tasks"]})
    return agent_config.text_of({
        "node": params["node"], "address": params["advertise_addr"], "port": params["port"],
        "rpc_addr": rpc_addr, "rpc_auth": rpc_auth, "supervisor": params["supervisor"],
        "peers": sorted(params["peers"], key=lambda p: p.get("name")), "tasks": params["tasks"],
        "view": hosts,
    })


def shown(text):
    """agent.json for a diff: without the RPC token."""
    if not text:
        return ""
    config = json.loads(text)
    config.pop("rpc_auth", None)
    config.pop("rpc_addr", None)
    return agent_config.text_of(config)


def agent_config_path(state_dir):
    return agent_config.path(state_dir)


class Layout:
    """Where the live layer of one state directory keeps its files and programs."""

    def __init__(self, state_dir, python):
        self.state_dir, self.python = state_dir, python
        self.dir = availability.live_dir(state_dir)
        self.agent_config = agent_config_path(state_dir)
        self.serf_config = os.path.join(self.dir, SERF_CONFIG)
        self.agent_entry = os.path.join(deploy.LIBEXEC, AGENT_TASK)
        # Serf's handler was a Python program here in earlier releases; a converge removes it (obsolete()).
        self.former_hint_entry = os.path.join(deploy.LIBEXEC, AGENT_TASK + "-hint")

    @staticmethod
    def rpc_addr(port):
        return "127.0.0.1:%d" % port

    def hint_command(self):
        """Serf's event handler (run by /bin/sh): forwards the event to the agent's socket."""
        return live_hint.command(live_hint.socket_path(self.state_dir))

    def program_files(self):
        """The agent's program, the module_utils it imports and its entry point."""
        return dict(deploy.program_files(AGENT_PROGRAM), **{
            self.agent_entry: deploy.entry_point_text(self.python, AGENT_PROGRAM, "The live agent")})

    def entry_points(self):
        return {self.agent_entry}

    def obsolete(self):
        """Files an older release installed that nothing runs any more."""
        return [path for path in [self.former_hint_entry] if os.path.lexists(path)]

    def serf_spec(self, serf, config_text):
        return {"name": SERF_TASK, "service": "swarmnet", "netns": None, "program": _digest(config_text),
                "command": [serf, "agent", "-config-file", self.serf_config], "nice": CONTROL_NICE,
                "linger": LEAVE_DRAIN}

    def agent_spec(self, programs):
        code = "".join(programs[path] for path in sorted(programs))
        return {"name": AGENT_TASK, "service": "swarmnet", "netns": None, "program": _digest(code),
                "command": [self.python, self.agent_entry, self.state_dir], "nice": CONTROL_NICE}

    def wait_loaded(self, config_text, timeout):
        """The agent's facts once it has read `config_text` (and Serf answered), or None after `timeout`."""
        return agent_config.wait_loaded(self.state_dir, config_text, timeout)

    def log_hint(self, kind):
        """Where the agent and Serf write what went wrong."""
        if kind == "systemd":
            return " and ".join("journalctl -u swarmnet-task-%s.service" % t for t in (AGENT_TASK, SERF_TASK))
        return " and ".join(os.path.join(self.state_dir, "tasks", t + ".log") for t in (AGENT_TASK, SERF_TASK))


def remove(layout, runner, changes):
    """Stop the agent, then Serf (which leaves the cluster as it stops), and remove their files."""
    runner.ensure_absent(AGENT_TASK, changes)
    runner.ensure_absent(SERF_TASK, changes)
    paths = [layout.agent_config, layout.serf_config, availability.facts_path(layout.state_dir),
             live_hint.socket_path(layout.state_dir), hold.path(layout.state_dir), layout.agent_entry,
             layout.former_hint_entry]
    for path in paths:
        if os.path.lexists(path):
            changes("remove %s" % path, os.unlink, path)
