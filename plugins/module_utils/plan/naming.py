# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names of the kernel objects the collection owns, derived in one place.

Pure functions: the plan, the modules and the info module must agree on every
name, so none of them builds a name by itself.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re

NETNS_PREFIX = "swarmnet-"
BRIDGE = "br0"
# Interface alias marks: how the info module recognises what the collection made.
BRIDGE_ALIAS = "swarmnet network "        # + network name, on br0
ENDPOINT_ALIAS = "swarmnet endpoint "     # + network name, on the sandbox end of a veth
INGRESS_VNI = 4096
FIRST_USER_VNI = 4097
MAX_VNI = (1 << 24) - 1
DEFAULT_DATA_PORT = 4789
CONTROL_PORT = 7946
VXLAN_OVERHEAD = 50
# The routing mesh and egress (Docker's ingress_sbox and docker_gwbridge).
INGRESS_SBOX = "swarmnet_ingress_sbox"
GWBRIDGE = "swarmnet_gwbr"
GWBRIDGE_NETWORK = "gwbridge"             # how a sandbox's gateway-bridge endpoint is named
RESTORE_UNIT = "swarmnet-restore.service"   # makes a host's objects again at boot
# Not "ve-": systemd-networkd's default 80-container-ve.network takes ve-* links in the
# host namespace (gateway bridge ends) for nspawn containers and gives them addresses and NAT.
VETH_PREFIX = "swv-"
VETH_TEMP_PREFIX = "swt-"
# A sandbox's name is its network namespace's (ip netns add NAME).
SANDBOX_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def network_netns(network):
    """Network namespace holding a network's br0 and VXLAN device."""
    return NETNS_PREFIX + network


def vxlan_name(vni):
    """VXLAN device name; unique per host because VNIs are."""
    return "vx-%d" % vni


def veth_host_name(sandbox, network):
    """Name of the veth end on br0 (network namespace side), max 15 chars."""
    digest = hashlib.sha1(("%s/%s" % (sandbox, network)).encode()).hexdigest()
    return VETH_PREFIX + digest[:10]


def veth_temp_name(host_end):
    """The sandbox end's name until it moves into the sandbox."""
    return VETH_TEMP_PREFIX + host_end[len(VETH_PREFIX):]


def endpoint_mac(ip):
    """02:42 + the four octets of the IPv4 address, as Docker does."""
    octets = ipaddress.IPv4Address(ip).packed
    return "02:42:" + ":".join("%02x" % b for b in octets)
