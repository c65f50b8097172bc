#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: overlay_host
short_description: A host's whole overlay in one run - encryption, networks, gateway bridge, sandboxes and peers
version_added: 0.6.0
description:
  - Does in one process, in this order, what M(swarmnet.overlay.overlay_encryption) with C(prune=false)
    (O(encryption)), M(swarmnet.overlay.overlay_endpoint) (O(absent_sandboxes)),
    M(swarmnet.overlay.overlay_network) (O(networks)), M(swarmnet.overlay.gateway_bridge),
    M(swarmnet.overlay.overlay_endpoint) (O(sandboxes)), M(swarmnet.overlay.vxlan_peer) (O(peers)) and
    M(swarmnet.overlay.overlay_network) (O(absent_networks)) do one after another; a bridge that goes
    (O(gateway_bridge.state=absent)) goes last. Encryption that is no longer wanted (guards of networks
    that went, SAs and policies of peers or keys that went) is removed after everything else, when the
    first encryption step found some.
  - A module run costs a Python start and the pyroute2 import, seconds on a slow host; a converge
    pays it once here instead of four times.
  - Each object is reconciled and reported as the module of its kind does (C(results) of each
    kind, one diff per object). A kind whose object fails does not stop the other objects of that
    kind, but the kinds after it are not run, as the tasks after a failed task are not; their
    results are empty.
  - Every option is checked before anything changes. An option left out is not managed.
  - The keys of O(encryption.keyring) are never returned or shown.
author: swarmnet developers (@swarmnet)
requirements:
  - pyroute2 >= 0.9 on the managed host
options:
  encryption:
    description:
      - This host's encrypted networks, its peers on them and the keyring, as
        M(swarmnet.overlay.overlay_encryption) takes them. C({networks=[]}) removes every SA, policy and
        guard that module made.
      - With O(state=absent), everything it made is removed, last.
    type: dict
    suboptions:
      local:
        description: As O(swarmnet.overlay.overlay_encryption#module:local).
        type: str
      peers:
        description: As O(swarmnet.overlay.overlay_encryption#module:peers).
        type: list
        elements: str
        default: []
      networks:
        description: As O(swarmnet.overlay.overlay_encryption#module:networks).
        type: list
        elements: dict
        default: []
        suboptions:
          name:
            description: As O(swarmnet.overlay.overlay_encryption#module:networks[].name).
            type: str
          vni:
            description: As O(swarmnet.overlay.overlay_encryption#module:networks[].vni).
            type: int
            required: true
          data_port:
            description: As O(swarmnet.overlay.overlay_encryption#module:networks[].data_port).
            type: int
            default: 4789
      keyring:
        description: As O(swarmnet.overlay.overlay_encryption#module:keyring).
        type: dict
  networks:
    description:
      - The networks to have, each as M(swarmnet.overlay.overlay_network) takes one
        (C(name), C(vni), C(gateway), C(local), C(data_port), C(mtu)).
      - With O(state=absent), only their C(name) counts.
    type: list
    elements: dict
  gateway_bridge:
    description: The gateway bridge, as M(swarmnet.overlay.gateway_bridge) takes it.
    type: dict
    suboptions:
      name:
        description: Bridge name in the host namespace.
        type: str
        default: swarmnet_gwbr
      address:
        description: The host's address on the bridge, with prefix length. Required when present.
        type: str
      state:
        description: C(absent) removes it, after everything else.
        type: str
        choices: [present, absent]
        default: present
  sandboxes:
    description:
      - The sandboxes to have, each with its C(name) and C(endpoints) as M(swarmnet.overlay.overlay_endpoint) takes them.
      - With O(state=absent), only their C(name) counts.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the network namespace under C(/run/netns).
        type: str
        required: true
      endpoints:
        description: The sandbox's whole set of endpoints, each as in O(swarmnet.overlay.overlay_endpoint#module:endpoints).
        type: list
        elements: dict
        default: []
  peers:
    description: The peers of each network, a mapping of network name to peers, as M(swarmnet.overlay.vxlan_peer) takes them.
    type: dict
  absent_sandboxes:
    description: Sandboxes to remove, first (their addresses may be taken by the sandboxes to have).
    type: list
    elements: str
    default: []
  absent_networks:
    description: Networks to remove, after the peers.
    type: list
    elements: str
    default: []
  state_dir:
    description:
      - Where the gateway bridge keeps the host's forwarding settings from before it, and encryption its
        networks and keyring (mode 0600) for the restore at boot.
    type: path
    default: /var/lib/swarmnet
  state:
    description:
      - C(absent) removes every sandbox and network named, the gateway bridge when O(gateway_bridge) is given
        and encryption when O(encryption) is given; O(peers) are left out (they go with their network).
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - swarmnet.overlay.attributes
"""

EXAMPLES = r"""
- name: The host's overlay as the plan has it
  swarmnet.overlay.overlay_host:
    encryption:
      local: 198.18.0.11
      peers: [198.18.0.12]
      networks: [{name: ingress, vni: 4096}]
      keyring: "{{ swarmnet_encryption_keyring }}"
    networks:
      - {name: ingress, vni: 4096, gateway: 10.255.0.1/16, local: 198.18.0.11, mtu: 1450}
    gateway_bridge: {address: 172.18.0.1/16}
    sandboxes:
      - name: task-a
        endpoints:
          - {network: ingress, ifname: eth0, address: 10.255.0.5/16, mac: "02:42:0a:ff:00:05", mtu: 1450}
    peers:
      ingress:
        - {ip: 10.255.0.6, mac: "02:42:0a:ff:00:06", vtep: 198.18.0.12}
    absent_sandboxes: [task-old]

- name: Everything of it removed
  swarmnet.overlay.overlay_host:
    sandboxes: [{name: task-a}]
    networks: [{name: ingress}]
    gateway_bridge: {}
    encryption: {}
    state: absent
"""

RETURN = r"""
actions:
  description: The changes made (or that would be made, in check mode), each after the object's name, in the order made.
  returned: always
  type: list
  elements: str
encryption:
  description:
    - When O(encryption) is given, the result of the encryption step (its C(name), C(changed), C(actions), C(sas) and
      C(stale), as M(swarmnet.overlay.overlay_encryption) returns them), then that of the step that removed what was
      stale, when there was something.
  returned: always
  type: list
  elements: dict
networks:
  description: One result per network, as M(swarmnet.overlay.overlay_network) returns in its C(results).
  returned: always
  type: list
  elements: dict
gateway_bridge:
  description: The bridge's result (its C(name), C(changed), C(actions) and C(bridge)), when O(gateway_bridge) is given.
  returned: always
  type: list
  elements: dict
sandboxes:
  description: One result per sandbox, as M(swarmnet.overlay.overlay_endpoint) returns in its C(results).
  returned: always
  type: list
  elements: dict
peers:
  description: One result per network's peers, as M(swarmnet.overlay.vxlan_peer) returns in its C(results).
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmnet.overlay.plugins.module_utils.batch import run_steps
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import netns
from ansible_collections.swarmnet.overlay.plugins.module_utils.steps import (
    encryption, gateway_bridge, networks, peers, sandboxes)


def _steps(module):
    """[(kind, run(batch) or None)] in the order they run; every input is checked here, before any of them."""
    p = module.params
    present = p["state"] == "present"
    wanted = networks.checked(module, p["networks"] or [], "networks", present)
    boxes = sandboxes.checked(module, p["sandboxes"] or [], "sandboxes")
    for i, name in enumerate(p["absent_sandboxes"]):
        sandboxes.check_name(module, name, "absent_sandboxes[%d]" % i)
    gone_boxes = [{"name": name, "endpoints": []} for name in p["absent_sandboxes"]]
    gone_networks = [(name, None) for name in p["absent_networks"]]
    bridge = p["gateway_bridge"]
    bridge_wanted = bridge is not None and present and bridge["state"] == "present"
    if bridge is not None:
        gateway_bridge.check(module, bridge["name"], bridge["address"], bridge_wanted, "gateway_bridge.")

    def bridge_step(batch):
        gateway_bridge.run(batch, bridge["name"], bridge["address"], p["state_dir"], bridge_wanted)

    add_encryption, prune_encryption = _encryption_steps(module, present)
    if not present:
        return [
            ("sandboxes", lambda batch: sandboxes.run(batch, gone_boxes + boxes, False)),
            ("networks", lambda batch: networks.run(batch, wanted + gone_networks)),
            ("gateway_bridge", bridge_step if bridge is not None else None),
            ("encryption", prune_encryption),
        ]
    # Each network's VXLAN device by its name (vx-VNI), as the networks step made it.
    vnis = {name: want["vni"] for name, want in wanted}
    sets = [(name, vnis.get(name), entries)
            for name, _vni, entries in peers.checked(module, p["peers"] or {}, "peers")]
    return [
        ("encryption", add_encryption),
        ("sandboxes", lambda batch: sandboxes.run(batch, gone_boxes, False)),
        ("networks", lambda batch: networks.run(batch, wanted)),
        ("gateway_bridge", bridge_step if bridge_wanted else None),
        ("sandboxes", lambda batch: sandboxes.run(batch, boxes, True)),
        ("peers", lambda batch: peers.run(batch, sets, True)),
        ("networks", lambda batch: networks.run(batch, gone_networks)),
        ("gateway_bridge", bridge_step if bridge is not None and not bridge_wanted else None),
        ("encryption", prune_encryption),
    ]


def _encryption_steps(module, present):
    """(add, prune): the encryption step before the devices (it only adds, as their traffic must stay
    guarded until they go) and the one after them that removes what is stale, run only when the first
    found something; (None, None) when encryption is not managed. With state=absent, prune removes
    everything."""
    p = module.params
    if p["encryption"] is None:
        return None, None
    encryption.hide_keys(module, p["encryption"]["keyring"])
    wanted = dict(p["encryption"], networks=p["encryption"]["networks"] if present else [])
    keys, primary = encryption.checked(module, wanted, "encryption.")
    stale = []

    def add(batch):
        stale.extend(encryption.run(batch, wanted, keys, primary, p["state_dir"], False)["stale"])

    def prune(batch):
        if stale or not present:
            encryption.run(batch, wanted, keys, primary, p["state_dir"], True)
    return add, prune


def main():
    module = AnsibleModule(
        argument_spec=dict(
            networks=dict(type="list", elements="dict"),
            gateway_bridge=dict(type="dict", options=dict(
                name=dict(type="str", default=gateway_bridge.DEFAULT_NAME),
                address=dict(type="str"),
                state=dict(type="str", default="present", choices=["present", "absent"]),
            ), required_if=[("state", "present", ["address"])]),
            sandboxes=dict(type="list", elements="dict", options=sandboxes.SANDBOX_OPTIONS),
            peers=dict(type="dict"),
            encryption=dict(type="dict", options=encryption.OPTIONS),
            absent_sandboxes=dict(type="list", elements="str", default=[]),
            absent_networks=dict(type="list", elements="str", default=[]),
            state_dir=dict(type="path", default="/var/lib/swarmnet"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    netns.require_pyroute2(module)
    kinds = {"encryption": encryption, "networks": networks, "gateway_bridge": gateway_bridge, "sandboxes": sandboxes,
             "peers": peers}
    run_steps(module, _steps(module), {key: kind.ERRORS for key, kind in kinds.items()})


if __name__ == "__main__":
    main()
