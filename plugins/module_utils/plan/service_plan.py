# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Services in the plan: tasks placed on hosts, VIPs, fwmarks, and what each host balances.

Pure Python, part of the plan (plan.py calls it). A service's tasks become
sandboxes like any other, so their endpoints, IPs and peers come from the same
code; this file adds what only services have.

Input (swarmnet_services, cluster-wide):
    [{name, networks: [str | {network, vip?}], endpoint_mode: vip|dnsrr,
      ports: [{published, target?, protocol?, mode: ingress|host}],
      (replicas | mode: global) + placement? + command + env? + user? + working_dir? + update_config?
        | tasks: [{host, netns, name?}], egress?,
      healthcheck?: {test | tcp | http, interval?, timeout?, retries?, start_period?, start_interval?},
      state?}]
"""

from __future__ import annotations

import hashlib
import ipaddress
import re

from ansible_collections.swarmnet.overlay.plugins.module_utils.live import health
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import naming, rollout, start_first

# A service name is a DNS label (service discovery answers it) that also fits a unit name.
SERVICE_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")
FIRST_FWMARK = 0x100          # as Docker: marks below 256 are left to the host's own rules
MAX_REPLICAS = 1000
ENDPOINT_MODES = ("vip", "dnsrr")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
USER_RE = re.compile(r"^([a-z_][a-z0-9_-]*[$]?|[0-9]+)$")      # a name as useradd takes it, or an id
PORT_MODES = ("ingress", "host")
MODES = ("replicated", "global")
GLOBAL_TASK_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")     # the plan's sandbox names


def task_sandbox(service, slot):
    """Name of a replica's sandbox (its network namespace) and task: web.1, web.2, ..."""
    return "%s.%d" % (service, slot)


def _spread(service, eligible, replicas):
    """Deterministic spread: round robin from an offset the service name picks.

    Slot n keeps its host while the placement stays, so scaling 3 -> 1 -> 3
    brings tasks back where they were, and services do not all start on one host.
    """
    offset = int(hashlib.sha1(service.encode()).hexdigest(), 16) % len(eligible)
    return [(slot, eligible[(offset + slot - 1) % len(eligible)]) for slot in range(1, replicas + 1)]


def _whole(value):
    """An int from an int or from a string of digits (`-e replicas=2` and templates give strings)."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _port(value):
    value = _whole(value)
    return value if value is not None and 1 <= value <= 65535 else None


def _validate_ports(svc, key, errors, source, reserved, seen):
    ports = []
    for j, port in enumerate(svc.get("ports") or []):
        pkey = "%s.ports[%d]" % (key, j)
        if not isinstance(port, dict):
            errors.add(source, pkey, port, "must be a mapping {published, target, protocol, mode}")
            continue
        published = _port(port.get("published"))
        target = _port(port.get("target", port.get("published")))
        protocol = port.get("protocol", "tcp")
        mode = port.get("mode", "ingress")
        if published is None:
            errors.add(source, pkey + ".published", port.get("published"), "not a port (1-65535)")
        elif target is None:
            errors.add(source, pkey + ".target", port.get("target"), "not a port (1-65535)")
        elif protocol not in ("tcp", "udp"):
            errors.add(source, pkey + ".protocol", protocol, "must be tcp or udp")
        elif mode not in PORT_MODES:
            errors.add(source, pkey + ".mode", mode, "must be ingress or host")
        elif mode == "ingress" and svc.get("endpoint_mode") == "dnsrr":
            errors.add(source, pkey + ".mode", mode,
                       "a dnsrr service cannot publish in ingress mode (use mode: host), as in Swarm")
        elif (protocol, published) in reserved:
            why = "%s port %d is used by the cluster itself (%s)" % (protocol, published, reserved[(protocol, published)])
            errors.add(source, pkey + ".published", published, why)
        elif (protocol, published) in seen:
            why = "%s port %d is already published by service %r" % (protocol, published, seen[(protocol, published)])
            errors.add(source, pkey + ".published", published, why)
        else:
            seen[(protocol, published)] = svc["name"]
            ports.append({"published": published, "target": target, "protocol": protocol, "mode": mode})
    return ports


def _validate_networks(svc, key, nets, ingress, errors, source):
    out = []
    for j, att in enumerate(svc.get("networks") or []):
        akey = "%s.networks[%d]" % (key, j)
        if isinstance(att, str):
            att = {"network": att}
        if not isinstance(att, dict):
            errors.add(source, akey, att, "must be a network name or {network, vip}")
            continue
        net = att.get("network")
        if net not in nets or nets[net]["state"] != "present":
            errors.add(source, akey + ".network", net, "unknown network (declare it in swarmnet_networks)")
        elif net == ingress:
            errors.add(source, akey + ".network", net,
                       "the ingress network is joined through published ports, not listed")
        elif net in [a["network"] for a in out]:
            errors.add(source, akey + ".network", net, "listed twice")
        else:
            out.append({"network": net, "vip": att.get("vip"), "key": akey + ".vip"})
    return out


def _placement(svc, key, cluster_hosts, groups, errors, source):
    wanted = svc.get("placement")
    if wanted is None:
        return sorted(cluster_hosts)
    if isinstance(wanted, str):
        wanted = [wanted]
    eligible = set()
    for j, name in enumerate(wanted):
        if name in cluster_hosts:
            eligible.add(name)
        elif name in groups:
            eligible.update(h for h in groups[name] if h in cluster_hosts)
        else:
            errors.add(source, "%s.placement[%d]" % (key, j), name, "neither a cluster host nor a group")
    return sorted(eligible)


def _command(svc, key, errors, source, why):
    """The service's command as a list of arguments, or None (with an error) when it has none."""
    command = svc.get("command")
    if isinstance(command, str):
        command = command.split()
    if not command or not all(isinstance(a, str) for a in command):
        errors.add(source, key + ".command", svc.get("command"), why)
        return None
    return list(command)


def global_task(service, host):
    """Name of a global service's task (and sandbox) on `host`: web.node1. It stays while the host does."""
    return "%s.%s" % (service, host)


def _global_tasks(svc, key, cluster_hosts, groups, errors, source):
    """mode global: one task on every eligible host, none elsewhere."""
    for given in ("replicas", "tasks"):
        if svc.get(given) is not None:
            errors.add(source, "%s.%s" % (key, given), svc[given],
                       "mode global runs one task on every eligible host: give no %s" % given)
            return []
    command = _command(svc, key, errors, source, "mode global needs a command (a list of arguments) to run")
    if command is None:
        return []
    config = svc.get("update_config")
    start_first_order = isinstance(config, dict) and config.get("order") == "start-first"
    out = []
    for host in _placement(svc, key, cluster_hosts, groups, errors, source):
        name = global_task(svc["name"], host)
        # A start-first update runs the new task beside the old one under the slot's second name.
        second = start_first.other_name(name) if start_first_order else name
        if not (GLOBAL_TASK_RE.match(name) and GLOBAL_TASK_RE.match(second)):
            errors.add(host, key + ".mode", "global", "task name %r%s is not a namespace name: %s"
                       % (name, " (or %r, its second name for order start-first)" % second if second != name else "",
                          GLOBAL_TASK_RE.pattern))
        else:
            out.append((name, host, name, command))
    return out


def _tasks(svc, key, cluster_hosts, groups, errors, source):
    """[(task name, host, sandbox, command or None)] of one service."""
    mode = svc.get("mode", "replicated")
    if mode not in MODES:
        errors.add(source, key + ".mode", mode, "must be one of %s" % ", ".join(MODES))
        return []
    if mode == "global":
        return _global_tasks(svc, key, cluster_hosts, groups, errors, source)
    replicas, explicit = svc.get("replicas"), svc.get("tasks")
    if (replicas is None) == (explicit is None):
        errors.add(source, key, svc["name"], "give either replicas (with command) or tasks, or mode global")
        return []
    if explicit is not None:
        out = []
        for j, task in enumerate(explicit if isinstance(explicit, list) else [explicit]):
            tkey = "%s.tasks[%d]" % (key, j)
            if not isinstance(task, dict) or task.get("host") not in cluster_hosts:
                errors.add(source, tkey + ".host", task.get("host") if isinstance(task, dict) else task,
                           "not a host of the cluster")
                continue
            ns = task.get("netns")
            if not isinstance(ns, str) or not ns or "/" in ns or ns.startswith("swarmnet"):
                errors.add(task["host"], tkey + ".netns", ns,
                           "must name a network namespace under /run/netns (not a swarmnet one)")
                continue
            out.append((task.get("name") or ns, task["host"], ns, None))
        return out
    count = _whole(replicas)
    if count is None or not 0 <= count <= MAX_REPLICAS:
        errors.add(source, key + ".replicas", replicas, "must be an integer from 0 to %d" % MAX_REPLICAS)
        return []
    replicas = count
    command = _command(svc, key, errors, source, "replicas need a command (a list of arguments) to run in each task")
    if command is None:
        return []
    eligible = _placement(svc, key, cluster_hosts, groups, errors, source)
    if not eligible:
        if replicas:
            errors.add(source, key + ".placement", svc.get("placement"),
                       "no eligible host for %d replicas" % replicas)
        return []
    return [(task_sandbox(svc["name"], slot), host, task_sandbox(svc["name"], slot), command)
            for slot, host in _spread(svc["name"], eligible, replicas)]


def process_settings(svc, key, errors, source):
    """The replicas' env, user and working_dir (each only when given): what a process starts with."""
    out = {}
    given = {k: svc.get(k) for k in ("env", "user", "working_dir") if svc.get(k) is not None}
    if given and svc.get("command") is None:
        for name, value in given.items():
            errors.add(source, "%s.%s" % (key, name), value, "needs command (the collection runs that process)")
        return out
    env = given.get("env")
    if env is not None:
        if not isinstance(env, dict):
            errors.add(source, key + ".env", env, "must be a mapping of names to strings")
        for name, value in sorted(env.items(), key=lambda item: str(item[0])) if isinstance(env, dict) else ():
            if not isinstance(name, str) or not ENV_NAME_RE.match(name):
                errors.add(source, key + ".env", name, "not a variable name: %s" % ENV_NAME_RE.pattern)
            elif not isinstance(value, str) or "\0" in value:
                errors.add(source, "%s.env.%s" % (key, name), value, "must be a string (quote numbers and booleans)")
        out["env"] = env
    user = given.get("user")
    if user is not None:
        if not isinstance(user, str) or not USER_RE.match(user):
            errors.add(source, key + ".user", user, "must be a user name or a numeric id")
        out["user"] = user
    working_dir = given.get("working_dir")
    if working_dir is not None:
        if not isinstance(working_dir, str) or not working_dir.startswith("/") or "\n" in working_dir:
            errors.add(source, key + ".working_dir", working_dir, "must be an absolute path")
        out["working_dir"] = working_dir
    return out


def validate(services, nets, ingress, cluster_hosts, groups, source, errors):
    """Check every service; return the usable ones (state present), in declared order."""
    reserved = {("tcp", naming.CONTROL_PORT): "control port", ("udp", naming.CONTROL_PORT): "control port"}
    for net in nets.values():
        reserved[("udp", net["data_port"])] = "VXLAN data port of network %r" % net["name"]
    good, names, published, task_owner = [], {}, {}, {}
    if not isinstance(services, list):
        errors.add(source, "swarmnet_services", services, "must be a list")
        return good
    for i, svc in enumerate(services):
        key = "swarmnet_services[%d]" % i
        if not isinstance(svc, dict):
            errors.add(source, key, svc, "must be a mapping")
            continue
        name = svc.get("name")
        if not isinstance(name, str) or not SERVICE_RE.match(name):
            errors.add(source, key + ".name", name, "must be a DNS label: %s" % SERVICE_RE.pattern)
            continue
        if name in names:
            errors.add(source, key + ".name", name, "service declared twice (also %s)" % names[name])
            continue
        if name.startswith("swarmnet"):
            errors.add(source, key + ".name", name, "names starting with swarmnet are the collection's own")
            continue
        names[name] = key
        if svc.get("state", "present") == "absent":
            continue
        if svc.get("state", "present") != "present":
            errors.add(source, key + ".state", svc.get("state"), "must be present or absent")
            continue
        mode = svc.get("endpoint_mode", "vip")
        if mode not in ENDPOINT_MODES:
            errors.add(source, key + ".endpoint_mode", mode, "must be vip or dnsrr")
            continue
        before = len(errors)
        networks = _validate_networks(svc, key, nets, ingress, errors, source)
        ports = _validate_ports(svc, key, errors, source, reserved, published)
        if any(p["mode"] == "ingress" for p in ports) and ingress is None:
            errors.add(source, key + ".ports", svc.get("ports"), "ingress-mode ports need the ingress network")
        egress = svc.get("egress", True)
        if not egress and any(p["mode"] == "host" for p in ports):
            errors.add(source, key + ".egress", egress, "host-mode ports reach tasks through the gateway bridge")
        tasks = _tasks(svc, key, cluster_hosts, groups, errors, source)
        check = _healthcheck(svc, key, errors, source)
        process = process_settings(svc, key, errors, source)
        update_config = rollout.normalise(svc.get("update_config"), lambda suffix, value, why, key=key: errors.add(
            source, key + ".update_config" + suffix, value, why))
        for task_name, host, sandbox, _command in tasks:
            owner = task_owner.get((host, sandbox))
            if owner is not None:
                errors.add(host, key + ".tasks", sandbox, "network namespace already a task of service %r" % owner)
            task_owner[(host, sandbox)] = name
        if len(errors) > before:
            continue
        good.append({"name": name, "index": i, "endpoint_mode": mode, "networks": networks,
                     "ports": ports, "egress": bool(egress), "healthcheck": check,
                     "process": process, "update_config": update_config,
                     "tasks": [{"name": t, "host": h, "sandbox": s, "command": c} for t, h, s, c in tasks]})
    return good


def _healthcheck(svc, key, errors, source):
    """The service's healthcheck (health.normalise()'s form), or None; a command test only where the
    collection runs the tasks (explicit tasks live in a namespace of someone else's)."""
    def add(suffix, value, why):
        errors.add(source, key + ".healthcheck" + suffix, value, why)

    check = health.normalise(svc.get("healthcheck"), add)
    if check is not None and check["kind"] == "exec" and svc.get("tasks") is not None:
        add(".test", svc["healthcheck"].get("test"),
            "the collection does not run explicit tasks (tasks:), so it cannot run a command in them: "
            "use a tcp or http probe")
        return None
    return check


def sandboxes(services, ingress):
    """The sandboxes tasks need: {host: [{name, networks, egress, task}]}."""
    out = {}
    for svc in services:
        nets = [n["network"] for n in svc["networks"]]
        if any(p["mode"] == "ingress" for p in svc["ports"]):
            nets = [ingress] + nets      # as Docker: the ingress network is a task's first interface
        for task in svc["tasks"]:
            out.setdefault(task["host"], []).append({
                "name": task["sandbox"], "networks": nets, "egress": svc["egress"],
                "task": task["name"], "service": svc["name"], "index": svc["index"]})
    return out


def vip_attachments(services, source):
    """VIPs as attachments to allocate with the endpoint IPs: (source, 'vip:NAME', net, ip, key)."""
    return [(source, "vip:" + svc["name"], n["network"], n["vip"], n["key"])
            for svc in services if svc["endpoint_mode"] == "vip" for n in svc["networks"]]


def reported_vips(reported, source):
    """{(source, 'vip:NAME', net): ip} from the service registries hosts report."""
    live = {}
    for host in sorted(reported):
        for svc in (reported[host] or {}).get("services") or []:
            for net, vip in (svc.get("vips") or {}).items():
                live.setdefault((source, "vip:%s" % svc.get("name"), net), vip)
    return live


def _fwmark_keys(svc):
    keys = ["vip/" + n["network"] for n in svc["networks"] if svc["endpoint_mode"] == "vip"]
    keys += ["ingress/%s/%d" % (p["protocol"], p["published"]) for p in svc["ports"] if p["mode"] == "ingress"]
    return keys


def allocate_fwmarks(services, reported):
    """{(service, key): mark}, unique in the cluster; reported marks kept, new ones lowest free."""
    wanted = [(svc["name"], key) for svc in services for key in _fwmark_keys(svc)]
    kept, used = {}, set()
    for host in sorted(reported):
        for svc in (reported[host] or {}).get("services") or []:
            for key, mark in sorted((svc.get("fwmarks") or {}).items()):
                item = (svc.get("name"), key)
                if item in wanted and item not in kept and isinstance(mark, int) \
                        and mark >= FIRST_FWMARK and mark not in used:
                    kept[item] = mark
                    used.add(mark)
    candidate = FIRST_FWMARK
    for item in wanted:
        if item in kept:
            continue
        while candidate in used:
            candidate += 1
        kept[item] = candidate
        used.add(candidate)
    return kept


def registry(services, ips, fwmarks, source):
    """The cluster's services as every host records them (VIPs and marks survive in it)."""
    out = []
    for svc in sorted(services, key=lambda s: s["name"]):
        vips = {n["network"]: str(ips[(source, "vip:" + svc["name"], n["network"])])
                for n in svc["networks"] if svc["endpoint_mode"] == "vip"}
        tasks = []
        for task in svc["tasks"]:
            addresses = {net: str(ip) for (host, sandbox, net), ip in ips.items()
                         if host == task["host"] and sandbox == task["sandbox"]}
            tasks.append({"name": task["name"], "host": task["host"], "sandbox": task["sandbox"],
                          "addresses": addresses})
        out.append({"name": svc["name"], "endpoint_mode": svc["endpoint_mode"],
                    "networks": [n["network"] for n in svc["networks"]], "vips": vips,
                    "fwmarks": {key: fwmarks[(svc["name"], key)] for key in _fwmark_keys(svc)},
                    "ports": svc["ports"], "tasks": sorted(tasks, key=lambda t: t["name"])})
    return out


def running_only(registered, live_sandboxes):
    """The registry with only the tasks whose sandbox already exists: {(host, sandbox)}."""
    return [dict(svc, tasks=[t for t in svc["tasks"] if (t["host"], t["sandbox"]) in live_sandboxes])
            for svc in registered]


def backends_leave(registered, reported):
    """Whether an address some host's registry balances today is not planned any more: a task,
    its sandbox or one of its networks goes, and must leave every VIP before it stops."""
    planned = {(svc["name"], task["name"], task["host"], net, ip)
               for svc in registered for task in svc["tasks"] for net, ip in task["addresses"].items()}
    return any((svc.get("name"), task.get("name"), task.get("host"), net, ip) not in planned
               for report in reported.values() for svc in (report or {}).get("services") or []
               for task in svc.get("tasks") or [] for net, ip in (task.get("addresses") or {}).items())


def _sorted_ips(values):
    return sorted(values, key=ipaddress.IPv4Address)


def _backends(svc, net):
    """The tasks' addresses on `net`, each naming its task and host (the live layer masks by them)."""
    return sorted(({"address": t["addresses"][net], "task": t["name"], "host": t["host"]}
                   for t in svc["tasks"] if net in t["addresses"]),
                  key=lambda b: ipaddress.IPv4Address(b["address"]))


def balancing(registered, sandbox_networks, ingress_sbox_address, ingress):
    """What one sandbox balances: ipvs_service entries for the VIPs of its networks.

    The ingress sandbox (ingress_sbox_address set) instead balances published
    ports over every task's ingress address, masquerading as Swarm's does.
    """
    out = []
    for svc in registered:
        if ingress_sbox_address is not None:
            for port in svc["ports"]:
                if port["mode"] == "ingress":
                    out.append({"fwmark": svc["fwmarks"]["ingress/%s/%d" % (port["protocol"], port["published"])],
                                "vip": ingress_sbox_address, "protocol": port["protocol"],
                                "port": port["published"], "target_port": port["target"], "masquerade": True,
                                "backends": _backends(svc, ingress)})
            continue
        for net, vip in sorted(svc["vips"].items()):
            if net in sandbox_networks:
                out.append({"fwmark": svc["fwmarks"]["vip/" + net], "vip": vip, "backends": _backends(svc, net)})
    return sorted(out, key=lambda s: s["fwmark"])


def probed_tasks(services, registered, host, reported, rolling):
    """What the live agent of `host` watches: its tasks, with the healthcheck and the address to probe
    (the task's address on its service's first network, the one the VIP balances to). A check goes
    with the spec a task runs: a task that runs a spec other than the plan's, kept as applied
    (start-first) or rolling in this run (`rolling`, names), keeps the one its agent probes it with."""
    addresses = {(t["host"], t["name"]): t["addresses"] for svc in registered for t in svc["tasks"]}
    out = []
    for svc in services:
        nets = [n["network"] for n in svc["networks"]]
        for task in svc["tasks"]:
            if task["host"] != host:
                continue
            mine = addresses.get((host, task["name"])) or {}
            address = next((mine[n] for n in nets + sorted(mine) if n in mine), None)    # else ingress
            check = svc["healthcheck"]
            if "applied" in task or task["name"] in rolling:
                check = rollout.running_check(reported, host, task["name"], check)
            out.append({"name": task["name"], "service": svc["name"], "sandbox": task["sandbox"],
                        "address": address, "healthcheck": check,
                        "supervised": task["command"] is not None})
    return sorted(out, key=lambda t: t["name"])


def host_ports(registered, host, gw_addresses):
    """Host-mode published ports of tasks on `host`, straight to their gateway-bridge address."""
    out = []
    for svc in registered:
        local = [t for t in svc["tasks"] if t["host"] == host and t["sandbox"] in gw_addresses]
        for port in svc["ports"]:
            if port["mode"] == "host" and local:
                out.append({"protocol": port["protocol"], "port": port["published"],
                            "target_port": port["target"],
                            "backends": _sorted_ips(gw_addresses[t["sandbox"]] for t in local)})
    return out


def ingress_ports(registered):
    return sorted(({"protocol": p["protocol"], "port": p["published"]}
                   for svc in registered for p in svc["ports"] if p["mode"] == "ingress"),
                  key=lambda p: (p["protocol"], p["port"]))
