# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's service discovery (the resolver, its records, the sandboxes' resolv.conf) as a Batch
item: what svc_dns and services_host run."""

from __future__ import annotations

import ipaddress
import os
import re

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.swarmnet.overlay.plugins.module_utils.host import dns_server, files, resolver, task
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import dns_records

DOMAIN_RE = re.compile(r"^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")

OPTIONS = dict(
    sandboxes=dict(type="dict", default={}),
    services=dict(type="list", elements="dict", default=[]),
    upstreams=dict(type="list", elements="str"),
    ttl=dict(type="int", default=dns_records.DEFAULT_TTL),
    domain=dict(type="str"),
    timeout=dict(type="float", default=dns_server.DEFAULT_TIMEOUT),
    keep_program=dict(type="bool", default=False),
    state=dict(type="str", default="present", choices=["present", "absent"]),
)


class NotServing(Exception):
    """The resolver runs but did not load the records it was given."""


ERRORS = (task.TaskError, OSError, NotServing)


def check(module, dns, where=""):
    """Ends the run on a value the resolver cannot take (`where` prefixes each key in the message)."""
    if dns_records.A is None:
        module.fail_json(msg=missing_required_lib("dnslib") + " Run the swarmnet.overlay.prereqs role first.")
    for i, address in enumerate(dns["upstreams"] or []):
        try:
            ipaddress.IPv4Address(address)
        except ValueError:
            module.fail_json(msg="%supstreams[%d]=%r: not an IPv4 address" % (where, i, address))
    if dns["domain"] is not None and not DOMAIN_RE.match(dns["domain"]):
        module.fail_json(msg="%sdomain=%r: not a DNS name of lower-case labels" % (where, dns["domain"]))
    if not 0 <= dns["ttl"] <= 86400:
        module.fail_json(msg="%sttl=%r: must be 0-86400" % (where, dns["ttl"]))
    if not 0 < dns["timeout"] <= 30:
        module.fail_json(msg="%stimeout=%r: must be more than 0 and at most 30 seconds" % (where, dns["timeout"]))
    for name, networks in dns["sandboxes"].items():
        if not isinstance(networks, list):
            module.fail_json(msg="%ssandboxes[%r]=%r: must be a list of network names" % (where, name, networks))
    for i, svc in enumerate(dns["services"]):
        if not isinstance(svc.get("name"), str):
            module.fail_json(msg="%sservices[%d].name=%r: every entry needs a name" % (where, i, svc.get("name")))


def run(batch, dns, runner, state_dir, python):
    """The resolver as `dns` says; its result carries the resolver's `pid` and the `upstreams` used."""
    return batch.run("resolver", _reconcile(batch.check_mode, dns, runner, state_dir, python))


def _reconcile(check_mode, dns, runner, state_dir, python):
    def reconcile(changes):
        upstreams = dns["upstreams"] if dns["upstreams"] is not None else resolver.host_upstreams()
        config_path = dns_server.config_path(state_dir)
        before = files.read(config_path) or ""
        if dns["state"] == "absent":
            _absent(runner, state_dir, dns["keep_program"], changes)
            return before, "", {"pid": None, "upstreams": upstreams}
        after = resolver.config_text(dns["sandboxes"], dns["services"], upstreams, dns["ttl"], dns["domain"],
                                     dns["timeout"])
        program = resolver.program_files()
        files.ensure(program, changes)
        records_changed = files.ensure({config_path: after}, changes)
        resolver.ensure_resolv_confs(dns["sandboxes"], dns["domain"], changes)
        started = len(changes.done)
        pid = runner.ensure_present(resolver.task_spec(python, state_dir, program), changes)
        if records_changed and len(changes.done) == started and pid is not None:
            changes("reload the resolver (SIGHUP to %d)" % pid, resolver.reload, pid)
        if not check_mode and not resolver.wait_served(state_dir, after, dns["sandboxes"]):
            raise NotServing("the resolver (pid %s) did not load its records within %d s; see %s"
                             % (pid, resolver.LOAD_WAIT, os.path.join(state_dir, "tasks", resolver.TASK_NAME + ".log")))
        return before, after, {"pid": pid, "upstreams": upstreams}
    return reconcile


def _absent(runner, state_dir, keep_program, changes):
    runner.ensure_absent(resolver.TASK_NAME, changes)
    path = dns_server.config_path(state_dir)
    if os.path.exists(path):
        changes("remove %s" % path, os.unlink, path)
    resolver.ensure_resolv_confs({}, None, changes)
    resolver.forget_loaded(changes, state_dir)
    if not keep_program:
        resolver.remove_program(changes)
