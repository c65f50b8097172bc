# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The restore at boot: swarmnet-restore.service runs main(), which makes the kernel objects of
applied.json (restore.py) again, in the roles' order, with the same code the roles' modules use.

The restore_point module deploys this file and what it imports (restore.program_files()); it
does not import it: the kernel code and pyroute2 are the program's, not the module's.
"""

from __future__ import annotations

import sys
import time

from ansible_collections.swarmnet.overlay.plugins.module_utils.host import restore, task
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import (
    balancer, encryption, endpoint, firewall, gwbridge, lb_nftables, links, mesh, netns, network, nftables, peers)
from ansible_collections.swarmnet.overlay.plugins.module_utils.live import availability, lb_records, live_balancing
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import lb, naming
from ansible_collections.swarmnet.overlay.plugins.module_utils.reconcile import Changes

ADDRESS_WAIT = 60.0     # at boot the underlay address may come up after this unit starts


def wait_for_address(address, timeout):
    """The advertise address is on an interface (networkd may still be bringing it up)."""
    deadline = time.time() + timeout
    while True:
        with netns.rtnl() as ipr:
            if address in links.host_addresses(ipr):
                return
        if time.time() >= deadline:
            raise restore.RestoreError("advertise address %s did not appear on this host within %ds"
                                       % (address, timeout))
        time.sleep(0.5)


def _peers(net, wanted, changes):
    with netns.rtnl(net["netns"]) as ipr:
        device = links.by_name(ipr, naming.vxlan_name(net["vni"]))
        if device is None:
            raise restore.RestoreError("network %s: no VXLAN device %s" % (net["name"], naming.vxlan_name(net["vni"])))
        delta = peers.diff(peers.read(ipr, device["index"]), peers.desired(wanted))
        if any(delta[t]["add"] or delta[t]["remove"] for t in delta):
            changes("program %d peers of network %s" % (len(wanted), net["name"]),
                    peers.apply, ipr, device["index"], delta)


def _balancing(item, backend, state_dir, changes):
    """As ipvs_service does it: masked by the live layer's facts (at boot, none yet: everything), recorded."""
    first = len(changes.done)
    with lb_records.locked(state_dir), netns.inside(item["sandbox"]):
        live_balancing.reconcile(state_dir, item["sandbox"], backend, item["services"], lb_nftables.DEFAULT_TABLE,
                                 changes, availability.read(state_dir))
    changes.done[first:] = ["%s in %s" % (line, item["sandbox"]) for line in changes.done[first:]]


def apply(saved, state_dir, changes, address_wait=ADDRESS_WAIT):
    """Make every object of `saved` (see saved_text) again, in the order the roles make them."""
    desired = saved["desired"]
    wait_for_address(desired["advertise_addr"], address_wait)
    fw = desired["firewall"]
    if saved["firewall"]["state"] == "present":
        table = saved["firewall"]["table"]
        body = firewall.render(table, fw["peers"], fw["tcp_ports"], fw["udp_ports"], fw.get("esp", False))
        nftables.ensure(firewall.FAMILY, table, body, changes)
    # Encryption before any VXLAN device: the kept networks, keyring (0600) and this plan's peers.
    kept_networks, keys, primary = encryption.load(state_dir)
    if kept_networks:
        encryption.ensure(desired["advertise_addr"], (desired.get("encryption") or {}).get("peers", []),
                          kept_networks, keys, primary, state_dir, changes, prune=False)
    host_links = links.Listings()      # as the networks step shares it: each network's leftovers are its own
    for net in desired["networks"]:
        want = {key: net[key] for key in ("name", "vni", "gateway", "local", "data_port", "mtu")}
        observed = network.observe(want["name"])
        network.preflight(want, observed)
        network.ensure_present(want, changes, observed, host_links)
    if desired["gwbridge"]:
        gwbridge.ensure_present(desired["gwbridge"]["name"], desired["gwbridge"]["address"], changes, state_dir)
    ends = endpoint.NetworkEnds()
    for sandbox in desired["sandboxes"]:
        endpoint.ensure_present(sandbox["name"], sandbox["endpoints"], changes, ends=ends)
    for net in desired["networks"]:
        _peers(net, desired["peers"][net["name"]], changes)
    # Answered once for the kernel, as ipvs_service does: its records name the backend that balances.
    backend = balancer.resolved(saved["lb_backend"])
    for item in lb.per_sandbox(desired["lb"]):
        if item["services"]:
            _balancing(item, backend, state_dir, changes)
    if desired["gwbridge"]:
        m = desired["mesh"]
        body = mesh.render(mesh.DEFAULT_TABLE, naming.GWBRIDGE, m["ingress"], m["host"], m["egress_subnet"])
        nftables.ensure(mesh.FAMILY, mesh.DEFAULT_TABLE, body, changes)
    # systemd starts the task units after this one; the fallback supervisor is started here.
    supervisor = task.backend(saved["supervisor"], None, state_dir, saved["python"])
    supervisor.resume(changes)


def main(argv):
    """The entry point: returns the exit status; each change on stdout (the journal), errors on stderr."""
    state_dir = argv[0] if argv else task.DEFAULT_STATE_DIR
    changes = Changes(check_mode=False)
    try:
        apply(restore.load(state_dir), state_dir, changes)
    except Exception as exc:  # pylint: disable=broad-except  # every failure ends the same way, said clearly
        sys.stdout.write("".join("done: %s\n" % line for line in changes.done))
        sys.stderr.write("swarmnet-restore: %s: %s\n" % (type(exc).__name__, exc))
        return 1
    sys.stdout.write("".join(line + "\n" for line in changes.done))
    sys.stdout.write("swarmnet-restore: %d changes from %s\n" % (len(changes.done), restore.applied_path(state_dir)))
    return 0
