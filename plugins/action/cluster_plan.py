# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of cluster_plan: gather every host's variables, run the pure plan."""

from __future__ import annotations

import os

import yaml

from ansible.plugins.action import ActionBase
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import inputs, plan, start_first

LIVE_KEYS = ("networks", "endpoints", "underlay_mtu", "addresses", "tasks", "services")
# What the play's own hosts report besides: only their tasks roll in this run, each probed with the
# healthcheck of the spec it runs until its step restarts it.
PLAY_KEYS = LIVE_KEYS + ("task_specs", "task_checks")
ARGS = frozenset(("networks", "ingress", "services", "gwbridge_subnet", "dns", "hosts", "live_var", "live_results",
                  "features_var", "require_keyring", "require_gossip_key", "start_first"))
# The shapes of the variables: the plan role's argument spec, which documents them.
ROLE_SPEC = os.path.join(os.path.dirname(__file__), "..", "..", "roles", "plan", "meta", "argument_specs.yml")
KEYRING_VAR = "swarmnet_encryption_keyring"    # read here, never passed as an argument: it is secret
GOSSIP_KEY_VAR = "swarmnet_gossip_key"         # the same


def _plain(value):
    """Copy templated inventory data into plain Python containers."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def registered(hostvars, name, var):
    """What host `name` registered as `var`, as stored: a module's result holds no template, and templating it
    would walk every value of it (the live reads of 40 services: 0.06 s a run). Anything else is templated."""
    value = hostvars.raw_get(name).get(var)
    return value if isinstance(value, dict) else hostvars[name].get(var)


def variable_specs(path=ROLE_SPEC):
    with open(path, encoding="utf-8") as spec:
        return yaml.safe_load(spec)["argument_specs"]["main"]["options"]


def shape_errors(args, hosts, source):
    """Every unknown key and wrong type in the cluster's and each host's variables."""
    errors = plan.Errors()
    cluster = {"swarmnet_ingress": args.get("ingress"), "swarmnet_networks": args.get("networks"),
               "swarmnet_services": args.get("services"), "swarmnet_dns": args.get("dns")}
    per_host = {name: {"swarmnet_sandboxes": hv["sandboxes"]} for name, hv in hosts.items()}
    inputs.check_variables(variable_specs(), _plain(cluster), per_host, source, errors.add)
    return errors


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True     # it only computes: check mode changes nothing it does

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        unknown = sorted(set(args) - ARGS)
        if unknown:
            return dict(result, failed=True, msg="cluster_plan: unsupported parameters %s" % ", ".join(unknown))
        mode = args.get("start_first") or "begin"
        if mode not in start_first.MODES:
            return dict(result, failed=True, msg="cluster_plan: start_first=%r: must be one of %s"
                        % (mode, ", ".join(start_first.MODES)))
        hostvars = task_vars["hostvars"]
        names = args.get("hosts") or task_vars.get("ansible_play_hosts_all") or []
        live_var = args.get("live_var", "swarmnet_live")
        hosts, reported = {}, {}
        for name in names:
            hv = hostvars[name]
            facts_addr = (hv.get("ansible_default_ipv4") or {}).get("address")
            hosts[name] = {
                "advertise_addr": hv.get("swarmnet_advertise_addr") or facts_addr,
                "underlay_mtu": hv.get("swarmnet_underlay_mtu"),
                "sandboxes": _plain(hv.get("swarmnet_sandboxes") or []),
            }
            live = registered(hostvars, name, live_var)
            if isinstance(live, dict) and not any(live.get(k) for k in ("failed", "skipped", "unreachable")):
                reported[name] = _plain({k: live.get(k) for k in PLAY_KEYS})
            features = hv.get(args.get("features_var", "swarmnet_kernel"))
            if isinstance(features, dict) and isinstance(features.get("esp"), bool):
                reported.setdefault(name, {})["esp"] = features["esp"]
        for outside in args.get("live_results") or []:    # hosts outside the play, read by delegation
            if isinstance(outside, dict) and outside.get("item") in hosts and not outside.get("failed"):
                reported[outside["item"]] = _plain({k: outside.get(k) for k in LIVE_KEYS})
        source = task_vars.get("inventory_hostname")
        keyring = self._templar.template(task_vars.get(KEYRING_VAR))     # a role default: not in hostvars
        gossip_key = self._templar.template(task_vars.get(GOSSIP_KEY_VAR))
        errors = shape_errors(args, hosts, source)
        if errors:      # before the value checks, which expect the shapes
            return dict(result, failed=True, errors=errors,
                        msg="swarmnet inventory refused, no host changed:\n- " + "\n- ".join(errors))
        try:
            planned = plan.build(_plain(args.get("networks") or []), _plain(hosts), reported, source,
                                 services=_plain(args.get("services") or []),
                                 groups=_plain(task_vars.get("groups") or {}),
                                 gwbridge_subnet=args.get("gwbridge_subnet") or plan.DEFAULT_GWBRIDGE_SUBNET,
                                 dns=_plain(args.get("dns") or {}),
                                 keyring=_plain(keyring) if keyring else None,
                                 keyring_required=bool(args.get("require_keyring", True)),
                                 ingress_network=_plain(args.get("ingress")) or None,
                                 gossip_key=_plain(gossip_key) if gossip_key else None,
                                 gossip_key_required=bool(args.get("require_gossip_key", False)),
                                 start_first=mode)
        except plan.PlanError as exc:
            return dict(result, failed=True, errors=exc.errors,
                        msg="swarmnet inventory refused, no host changed:\n- " + "\n- ".join(exc.errors))
        low_pools = planned.pop("warnings")
        if low_pools:
            result.setdefault("warnings", []).extend(low_pools)
        return dict(result, changed=False, plan=planned)
