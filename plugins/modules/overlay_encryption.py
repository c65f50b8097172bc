#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: overlay_encryption
short_description: IPsec ESP between the hosts of encrypted overlay networks
version_added: 0.2.0
description:
  - "The host's part of Swarm's C(--opt encrypted): the VXLAN datagrams of the given networks travel
    in ESP transport mode with AES-GCM (C(rfc4106(gcm(aes))), 128-bit ICV) to and from every peer."
  - Per peer and key of the keyring, one SA in each direction, keyed per pair and direction (HKDF-SHA256
    of the cluster key) with SPIs derived from both addresses and the key; one outbound policy per peer
    that sends with the primary key. Every key of the ring is accepted.
  - Fails closed. An nftables table (C(ip swarmnet_esp)) marks the networks' VXLAN datagrams (by data
    port and VNI) for the policies, drops them if they would leave without ESP (counter
    C(plaintext_out_dropped)) and drops those that arrive without ESP (counter C(plaintext_in_dropped)).
    It is made before any SA or policy and removed after them.
  - The networks and keyring are kept in I(state_dir)/esp.json with mode 0600 for the restore at boot;
    the keys are never returned or shown.
  - The given peers and networks are the whole set; SAs and policies of other peers or keys are removed.
  - Where the kernel has C(esp4_offload) as a module that is not loaded, it is loaded before the first SA
    is added (a change of its own). It gives ESP software GSO and GRO, which the kernel binds to an SA when
    the SA is added; SAs added before it was loaded get it when they are next replaced. It stays loaded.
author: swarmnet developers (@swarmnet)
requirements:
  - pyroute2 >= 0.9 on the managed host
  - a kernel with ESP (C(CONFIG_INET_ESP)) and nftables
options:
  local:
    description: This host's underlay (advertise) address. Required with networks.
    type: str
  peers:
    description: Underlay addresses of the hosts that share an encrypted network with this one.
    type: list
    elements: str
    default: []
  networks:
    description: The encrypted networks on this host. None removes everything this module made.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Network name (for messages).
        type: str
      vni:
        description: VNI of the network.
        type: int
        required: true
      data_port:
        description: UDP port of the network's VXLAN traffic.
        type: int
        default: 4789
  keyring:
    description:
      - C({primary, keys}) with up to three C({tag, key}); I(key) is 40 hex digits (AES-128 key + 4-byte
        salt) or 72 (AES-256). I(primary) is the tag this host sends with. Required with networks.
    type: dict
  prune:
    description:
      - C(false) only adds. Networks guarded by the last run stay guarded (their VXLAN devices may still
        carry traffic) and no SA or policy is removed. The overlay role calls it so before it changes
        networks and endpoints, and with C(true) after.
    type: bool
    default: true
  state_dir:
    description: Where the networks and keyring are kept (mode 0600) for the restore at boot.
    type: path
    default: /var/lib/swarmnet
  state:
    description: C(absent) removes every SA, policy and rule this module made, and the kept keyring.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - swarmnet.overlay.attributes
notes:
  - Remove the networks' VXLAN devices before this module's I(state=absent), as the overlay role does;
    otherwise their traffic would flow in plaintext once the guard table is gone.
"""

EXAMPLES = r"""
- name: Encrypt frontend (VNI 4097) between this host and two peers
  swarmnet.overlay.overlay_encryption:
    local: 198.19.0.11
    peers: [198.19.0.12, 198.19.0.13]
    networks: [{name: frontend, vni: 4097, data_port: 4789}]
    keyring: "{{ swarmnet_encryption_keyring }}"
  no_log: true
"""

RETURN = r"""
changes:
  description: What was (or in check mode would be) done, one line each; SAs by addresses, SPI and key tag.
  returned: always
  type: list
  elements: str
sas:
  description: Number of SAs this module owns after the run.
  returned: always
  type: int
stale:
  description:
    - With O(prune=false), what a run with O(prune=true) would remove, one line each (guards of networks
      kept from the last run, policies, SAs). Empty when there is nothing to prune, so the pruning run
      can be left out.
    - Empty with O(prune=true) (what it removed is in RV(changes)).
  returned: always
  type: list
  elements: str
  sample: ["policy out 198.18.0.11 > 198.18.0.13", "ESP SA 198.18.0.11 > 198.18.0.13 spi 0x00010003"]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import netns
from ansible_collections.swarmnet.overlay.plugins.module_utils.reconcile import Changes
from ansible_collections.swarmnet.overlay.plugins.module_utils.steps import encryption


def main():
    module = AnsibleModule(
        argument_spec=dict(
            encryption.OPTIONS,
            prune=dict(type="bool", default=True),
            state_dir=dict(type="path", default="/var/lib/swarmnet"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    netns.require_pyroute2(module)
    p = module.params
    encryption.hide_keys(module, p["keyring"])
    if p["state"] == "absent":
        p["networks"] = []
    keys, primary = encryption.checked(module, p)
    changes = Changes(module.check_mode)
    try:
        before, after, facts = encryption.reconcile(module.check_mode, p, keys, primary, p["state_dir"],
                                                    p["prune"] or p["state"] == "absent")(changes)
    except encryption.ERRORS as exc:
        module.fail_json(msg="encryption: %s (done before it: %s)" % (exc, "; ".join(changes.done) or "nothing"))
    module.exit_json(changed=changes.changed, changes=changes.done, diff={"before": before, "after": after}, **facts)


if __name__ == "__main__":
    main()
