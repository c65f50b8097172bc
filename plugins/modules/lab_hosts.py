#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lab_hosts
short_description: Test bed only; lab hosts as network namespaces on one machine
version_added: 0.1.0
description:
  - Creates (or removes) N lab hosts on the machine it runs on, for tests and the demo.
  - Each host is a network namespace C(PREFIX-hN) with C(eth0) on an underlay bridge C(PREFIX0),
    plus a mount and a UTS namespace of its own, kept alive by bind mounts under
    C(/run/swarmnet-lab). Inside the mount namespace the host has its own C(/sys) (so facts
    describe the host), its own C(/run/netns) (so namespaces created "on" a host belong to it) and
    its own C(/var/lib/swarmnet) (task specs, the task supervisor's pid, the service registry, DNS
    records) and its own C(/etc/netns) (its sandboxes' resolv.conf).
  - The connection plugin M(swarmnet.overlay.netns) enters all three namespaces.
  - Removing the hosts stops each host's task supervisor (by its pid file; it stops its tasks) and
    removes everything created on them, because their namespaces go with them. The mount points it
    made on this machine (C(/var/lib/swarmnet), C(/etc/netns)), kept in C(/run/swarmnet-lab/made), go
    too when they are empty; what was there before the lab stays. Remove what the collection put in
    the shared C(/opt/swarmnet) with the teardown first (C(playbooks/lab.yml) does).
author: swarmnet developers (@swarmnet)
requirements:
  - pyroute2 >= 0.9, util-linux (unshare, nsenter), root
options:
  count:
    description: Number of hosts.
    type: int
    default: 3
  prefix:
    description: Prefix of the namespace, bridge and veth names.
    type: str
    default: swlab
  subnet:
    description: Underlay subnet; host N gets address N+10 in it.
    type: str
    default: 198.18.0.0/24
  mtu:
    description: Underlay MTU.
    type: int
    default: 1500
  state:
    description: Whether the lab exists.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
    description: Reports what it would create or remove.
  diff_mode:
    support: none
    description: Not supported.
  platform:
    support: full
    platforms: linux
    description: The lab machine itself.
"""

EXAMPLES = r"""
- name: Three lab hosts
  swarmnet.overlay.lab_hosts:
    count: 3

- name: Remove them
  swarmnet.overlay.lab_hosts:
    state: absent
"""

RETURN = r"""
hosts:
  description: The lab hosts, with namespace and underlay address.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "h1", "netns": "swlab-h1", "address": "198.18.0.11"}]
actions:
  description: What was (or would be) done.
  returned: always
  type: list
  elements: str
"""

import ipaddress
import os
import shutil
import signal
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmnet.overlay.plugins.module_utils.host import supervisor, task
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import links, netns
from ansible_collections.swarmnet.overlay.plugins.module_utils.reconcile import Changes

LAB_DIR = "/run/swarmnet-lab"
ETC_NETNS = "/etc/netns"
MADE = os.path.join(LAB_DIR, "made")     # directories of this machine the lab made, one per line


def _is_mounted(path):
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def _run(*cmd):
    subprocess.run(cmd, check=True, capture_output=True, text=True)


def _private_dir():
    os.makedirs(LAB_DIR, exist_ok=True)
    if not _is_mounted(LAB_DIR):
        _run("mount", "--bind", LAB_DIR, LAB_DIR)
    _run("mount", "--make-private", LAB_DIR)


def _made_here(path):
    """Make a directory of this machine the lab needs, noting it when the lab made it (removed with the lab)."""
    if os.path.isdir(path):
        return
    os.makedirs(path)
    with open(MADE, "a") as made:
        made.write(path + "\n")


def _host_namespaces(name, ns):
    """Mount + UTS namespaces of one host, held by bind mounts, set up from inside."""
    mnt, uts = os.path.join(LAB_DIR, ns + ".mnt"), os.path.join(LAB_DIR, ns + ".uts")
    for path in (mnt, uts):
        open(path, "a").close()
    os.makedirs(netns.NETNS_DIR, exist_ok=True)
    state, etc_netns = os.path.join(LAB_DIR, ns + ".state"), os.path.join(LAB_DIR, ns + ".etc-netns")
    for path in (state, etc_netns):
        os.makedirs(path, exist_ok=True)
    for path in (task.DEFAULT_STATE_DIR, ETC_NETNS):       # mount points for each host's own
        _made_here(path)
    # Each host has its own /sys, /run/netns, state directory (task specs, the registry, DNS
    # records) and /etc/netns (its sandboxes' resolv.conf).
    setup = ("hostname %s && mount -t sysfs sysfs /sys && "
             "mount -t tmpfs -o mode=0755 swarmnet-lab /run/netns && "
             "mount --bind %s %s && mount --bind %s %s"
             % (name, state, task.DEFAULT_STATE_DIR, etc_netns, ETC_NETNS))
    _run("nsenter", "--net=/run/netns/" + ns, "unshare", "--mount=" + mnt, "--uts=" + uts,
         "--propagation", "slave", "sh", "-c", setup)


def _hosts(p):
    net = ipaddress.IPv4Network(p["subnet"])
    return [{"name": "h%d" % i, "netns": "%s-h%d" % (p["prefix"], i),
             "address": str(net.network_address + 10 + i), "prefixlen": net.prefixlen,
             "veth": "%s-h%d" % (p["prefix"], i)} for i in range(1, p["count"] + 1)]


def _create_host(h, bridge_index, mtu):
    with netns.rtnl() as ipr:
        ipr.link("add", ifname=h["veth"], kind="veth", peer="eth0-" + h["name"])
        inner = ipr.link_lookup(ifname="eth0-" + h["name"])[0]
        ipr.link("set", index=inner, net_ns_fd=h["netns"])
        outer = ipr.link_lookup(ifname=h["veth"])[0]
        ipr.link("set", index=outer, master=bridge_index, mtu=mtu, state="up")
    with netns.rtnl(h["netns"]) as ipr:
        inner = ipr.link_lookup(ifname="eth0-" + h["name"])[0]
        ipr.link("set", index=inner, ifname="eth0", mtu=mtu)
        ipr.addr("add", index=inner, address=h["address"], prefixlen=h["prefixlen"])
        ipr.link("set", index=inner, state="up")
        ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")


def present(p, changes):
    bridge = p["prefix"] + "0"
    with netns.rtnl() as ipr:
        if not ipr.link_lookup(ifname=bridge):
            changes("create bridge %s" % bridge, ipr.link, "add", ifname=bridge, kind="bridge",
                    mtu=p["mtu"], state="up")
        bridge_index = (ipr.link_lookup(ifname=bridge) or [None])[0]
    changes.check_mode or _private_dir()
    for h in _hosts(p):
        if not netns.exists(h["netns"]):
            changes("create host %s (namespace %s, %s)" % (h["name"], h["netns"], h["address"]),
                    _new_host, h, bridge_index, p["mtu"])


def _new_host(h, bridge_index, mtu):
    netns.create(h["netns"])
    _create_host(h, bridge_index, mtu)
    _host_namespaces(h["name"], h["netns"])


def _stop_supervisor(state):
    """SIGTERM the host's task supervisor (it stops its tasks) and wait for it to go."""
    pid = task.supervisor_pid(state)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + 3 * supervisor.STOP_TIMEOUT
    while task.supervisor_pid(state) == pid and time.time() < deadline:
        time.sleep(0.1)


def absent(p, changes):
    for h in _hosts(p) + _extra_hosts(p):
        state = os.path.join(LAB_DIR, h["netns"] + ".state")
        if task.supervisor_pid(state) is not None:
            changes("stop the task supervisor of %s" % h["name"], _stop_supervisor, state)
        for private in (state, os.path.join(LAB_DIR, h["netns"] + ".etc-netns")):
            if os.path.isdir(private):
                changes("remove %s" % private, shutil.rmtree, private)
        for suffix in (".mnt", ".uts"):
            path = os.path.join(LAB_DIR, h["netns"] + suffix)
            if _is_mounted(path):
                changes("release %s" % path, _run, "umount", path)
            if os.path.exists(path):
                changes("remove %s" % path, os.unlink, path)
        if netns.exists(h["netns"]):
            changes("delete host %s (namespace %s)" % (h["name"], h["netns"]), netns.remove, h["netns"])
    with netns.rtnl() as ipr:
        for ifname in [p["prefix"] + "0"] + [h["veth"] for h in _hosts(p)]:
            # A host's veth goes with its namespace, but the kernel cleans a namespace up after the
            # deletion returns: the end left here may vanish between the lookup and the delete.
            for index in ipr.link_lookup(ifname=ifname):
                changes("delete link %s" % ifname, links.delete, ipr, index)
    if os.path.exists(MADE):
        with open(MADE) as made:
            for path in reversed(made.read().split()):
                if os.path.isdir(path) and not os.listdir(path):
                    changes("remove %s (made for the lab)" % path, os.rmdir, path)
        changes("forget what the lab made", os.unlink, MADE)
    if os.path.isdir(LAB_DIR) and not os.listdir(LAB_DIR):
        if _is_mounted(LAB_DIR):
            changes("release %s" % LAB_DIR, _run, "umount", LAB_DIR)
        changes("remove %s" % LAB_DIR, os.rmdir, LAB_DIR)


def _extra_hosts(p):
    """Hosts of a larger lab made earlier with the same prefix."""
    known = {h["netns"] for h in _hosts(p)}
    extra = []
    for ns in netns.names():
        if ns.startswith(p["prefix"] + "-h") and ns not in known:
            extra.append({"name": ns[len(p["prefix"]) + 1:], "netns": ns, "veth": ns})
    return extra


def main():
    module = AnsibleModule(
        argument_spec=dict(
            count=dict(type="int", default=3),
            prefix=dict(type="str", default="swlab"),
            subnet=dict(type="str", default="198.18.0.0/24"),
            mtu=dict(type="int", default=1500),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    netns.require_pyroute2(module)
    p = module.params
    if not 1 <= p["count"] <= 200:
        module.fail_json(msg="count=%r: must be 1-200" % p["count"])
    changes = Changes(module.check_mode)
    try:
        (present if p["state"] == "present" else absent)(p, changes)
    except netns.KERNEL_ERRORS + (subprocess.CalledProcessError,) as exc:
        detail = getattr(exc, "stderr", "") or ""
        module.fail_json(msg="lab: %s %s" % (exc, detail), actions=changes.done)
    hosts = [{k: h[k] for k in ("name", "netns", "address")} for h in _hosts(p)]
    module.exit_json(changed=changes.changed, actions=changes.done,
                     hosts=hosts if p["state"] == "present" else [])


if __name__ == "__main__":
    main()
