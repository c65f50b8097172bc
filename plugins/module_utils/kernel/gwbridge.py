# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gateway bridge: a bridge in the host namespace joining tasks to the host (docker_gwbridge).

Tasks leave the overlays through it (egress, masqueraded by the routing mesh
table), and published ports reach the ingress sandbox and host-mode tasks
through it. The host must forward between its underlay and this bridge.
"""

from __future__ import annotations

import json
import os

from ansible_collections.swarmnet.overlay.plugins.module_utils.host import files, task
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import links, netns, sysctl

ALIAS = "swarmnet gateway bridge"
# Forwarding for egress and published ports; route_localnet lets a published
# port answer 127.0.0.1 on the host, as Docker sets it on docker_gwbridge.
SYSCTLS = (("net/ipv4/ip_forward", "1"), ("net/ipv4/conf/{bridge}/route_localnet", "1"))
# (keys with "/" so a bridge name with a dot stays one path element)
# Host-wide values as they were before the first change, put back when the bridge goes.
SAVED_SYSCTLS = "sysctl-before.json"


class GatewayBridgeError(Exception):
    pass


def observe(ipr, name):
    link = links.by_name(ipr, name)
    if link is None:
        return None
    return dict(link, addresses=["%s/%d" % a for a in links.ipv4_addresses(ipr, link["index"])])


def summary(observed):
    if observed is None:
        return {}
    return {"name": observed["ifname"], "addresses": observed["addresses"], "up": observed["up"]}


def _create(ipr, name, address):
    ipr.link("add", ifname=name, kind="bridge")
    index = ipr.link_lookup(ifname=name)[0]
    ipr.link("set", index=index, ifalias=ALIAS)
    addr, prefix = address.split("/")
    ipr.addr("add", index=index, address=addr, prefixlen=int(prefix))
    ipr.link("set", index=index, state="up")


def _saved_path(state_dir):
    return os.path.join(state_dir, SAVED_SYSCTLS)


def _saved(state_dir):
    try:
        saved = json.loads(files.read(_saved_path(state_dir)) or "{}")
    except ValueError:
        return {}
    return saved if isinstance(saved, dict) else {}


def _remember(state_dir, key, value):
    saved = _saved(state_dir)
    saved.setdefault(key, value)
    files.write(_saved_path(state_dir), json.dumps(saved, sort_keys=True) + "\n")


def ensure_present(name, address, changes, state_dir=task.DEFAULT_STATE_DIR):
    with netns.rtnl() as ipr:
        have = observe(ipr, name)
        if have is not None and have["kind"] != "bridge":
            raise GatewayBridgeError("%s exists and is a %s, not a bridge" % (name, have["kind"]))
        if have is not None and have.get("alias") != ALIAS:
            raise GatewayBridgeError("%s exists and was not made by swarmnet (alias %r)" % (name, have.get("alias")))
        if have is None:
            changes("create bridge %s with %s" % (name, address), _create, ipr, name, address)
        else:
            for current in have["addresses"]:
                if current != address:
                    addr, plen = current.split("/")
                    changes("remove address %s from %s" % (current, name),
                            ipr.addr, "del", index=have["index"], address=addr, prefixlen=int(plen))
            if address not in have["addresses"]:
                addr, prefix = address.split("/")
                changes("address %s on %s" % (address, name),
                        ipr.addr, "add", index=have["index"], address=addr, prefixlen=int(prefix))
            if not have["up"]:
                changes("set %s up" % name, ipr.link, "set", index=have["index"], state="up")
    for template, value in SYSCTLS:
        key = template.format(bridge=name)
        # In check mode a bridge not yet made has no sysctl directory: it would be set.
        current = sysctl.read(key)
        if current != value:
            if "{bridge}" not in template and current is not None and key not in _saved(state_dir):
                changes("remember sysctl %s=%s (put back with the bridge)" % (key, current),
                        _remember, state_dir, key, current)
            changes("sysctl %s=%s" % (key, value), sysctl.write, key, value)


def ensure_absent(name, changes, state_dir=task.DEFAULT_STATE_DIR):
    with netns.rtnl() as ipr:
        have = observe(ipr, name)
        if have is not None and have.get("alias") == ALIAS:
            changes("delete bridge %s" % name, links.delete, ipr, have["index"])
    saved = _saved(state_dir)
    for key, value in sorted(saved.items()):
        if sysctl.read(key) != value:
            changes("sysctl %s=%s (as before swarmnet)" % (key, value), sysctl.write, key, value)
    if files.read(_saved_path(state_dir)) is not None:
        changes("remove %s" % _saved_path(state_dir), os.unlink, _saved_path(state_dir))
