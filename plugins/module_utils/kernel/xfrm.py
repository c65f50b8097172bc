# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPsec security associations and policies (the kernel's XFRM netlink family).

pyroute2 carries the netlink socket, framing, attributes and errors, but has no
XFRM messages; the few this collection needs are declared here after
<linux/xfrm.h> (x86_64/arm64 layout, explicit padding). IPv4 only, as the
overlay's underlay is. Values the kernel keeps in network byte order (SPI, ports)
are handled as integers here and converted at the edge.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
import subprocess

from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import pyroute2_parts

try:
    pyroute2_parts.register()
    from pyroute2.netlink import (NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST,
                                  NETLINK_XFRM, nla, nlmsg)
    from pyroute2.netlink.nlsocket import NetlinkSocket
except ImportError:  # reported by netns.require_pyroute2(); esp_available() needs none of it
    nla = nlmsg = NetlinkSocket = object

XFRM_MSG_NEWSA, XFRM_MSG_DELSA, XFRM_MSG_GETSA = 16, 17, 18
XFRM_MSG_NEWPOLICY, XFRM_MSG_DELPOLICY, XFRM_MSG_GETPOLICY = 19, 20, 21
XFRM_MSG_UPDPOLICY = 25
XFRM_POLICY_OUT = 1
XFRM_MODE_TRANSPORT = 0
IPPROTO_ESP = 50
AEAD_GCM = "rfc4106(gcm(aes))"

_ADDR = ("4s", "12x")     # xfrm_address_t: IPv4 in the first four of sixteen bytes


def _address_fields(name):
    return ((name, _ADDR[0]), ("_%s_pad" % name, _ADDR[1]))


_SELECTOR = (_address_fields("sel_daddr") + _address_fields("sel_saddr") + (
    ("sel_dport", "H"), ("sel_dport_mask", "H"), ("sel_sport", "H"), ("sel_sport_mask", "H"),
    ("sel_family", "H"), ("sel_prefixlen_d", "B"), ("sel_prefixlen_s", "B"), ("sel_proto", "B"),
    ("_sel_pad", "3x"), ("sel_ifindex", "i"), ("sel_user", "I")))                 # 56 bytes
_LIFETIME_CFG = tuple(("lft_%d" % i, "Q") for i in range(8))                       # 64 bytes
_LIFETIME_CUR = tuple(("cur_%d" % i, "Q") for i in range(4))                       # 32 bytes
NO_LIMIT = (1 << 64) - 1


class _mark(nla):
    fields = (("v", "I"), ("m", "I"))


class _tmpl(nla):
    """One xfrm_user_tmpl: which SA (ESP, transport, this SPI) a policy wants."""
    fields = (_address_fields("daddr") + (("spi", "4s"), ("proto", "B"), ("_id_pad", "3x"),
              ("family", "H"), ("_family_pad", "2x")) + _address_fields("saddr") + (
              ("reqid", "I"), ("mode", "B"), ("share", "B"), ("optional", "B"), ("_pad", "x"),
              ("aalgos", "I"), ("ealgos", "I"), ("calgos", "I")))                  # 64 bytes


_NLAS = (("XFRMA_UNSPEC", "none"), ("XFRMA_ALG_AUTH", "hex"), ("XFRMA_ALG_CRYPT", "hex"),
         ("XFRMA_ALG_COMP", "hex"), ("XFRMA_ENCAP", "hex"), ("XFRMA_TMPL", "_tmpl"),
         ("XFRMA_SA", "hex"), ("XFRMA_POLICY", "hex"), ("XFRMA_SEC_CTX", "hex"),
         ("XFRMA_LTIME_VAL", "hex"), ("XFRMA_REPLAY_VAL", "hex"), ("XFRMA_REPLAY_THRESH", "hex"),
         ("XFRMA_ETIMER_THRESH", "hex"), ("XFRMA_SRCADDR", "cdata"), ("XFRMA_COADDR", "hex"),
         ("XFRMA_LASTUSED", "hex"), ("XFRMA_POLICY_TYPE", "hex"), ("XFRMA_MIGRATE", "hex"),
         ("XFRMA_ALG_AEAD", "cdata"), ("XFRMA_KMADDRESS", "hex"), ("XFRMA_ALG_AUTH_TRUNC", "hex"),
         ("XFRMA_MARK", "_mark"))


class _usersa_info(nlmsg):
    """xfrm_usersa_info (224 bytes): one SA as added and as dumped."""
    fields = (_SELECTOR + _address_fields("daddr") + (("spi", "4s"), ("proto", "B"), ("_id_pad", "3x"))
              + _address_fields("saddr") + _LIFETIME_CFG + _LIFETIME_CUR + (
                  ("replay_window_stat", "I"), ("replay", "I"), ("integrity_failed", "I"),
                  ("seq", "I"), ("reqid", "I"), ("family", "H"), ("mode", "B"),
                  ("replay_window", "B"), ("flags", "B"), ("_pad", "7x")))
    nla_map = _NLAS
    _mark = _mark
    _tmpl = _tmpl


class _usersa_id(nlmsg):
    """xfrm_usersa_id (24 bytes): which SA to delete."""
    fields = _address_fields("daddr") + (("spi", "4s"), ("family", "H"), ("proto", "B"), ("_pad", "x"))
    nla_map = _NLAS
    _mark = _mark
    _tmpl = _tmpl


class _userpolicy_info(nlmsg):
    """xfrm_userpolicy_info (168 bytes): one policy as added and as dumped."""
    fields = _SELECTOR + _LIFETIME_CFG + _LIFETIME_CUR + (
        ("priority", "I"), ("index", "I"), ("dir", "B"), ("action", "B"), ("flags", "B"),
        ("share", "B"), ("_pad", "4x"))
    nla_map = _NLAS
    _mark = _mark
    _tmpl = _tmpl


class _userpolicy_id(nlmsg):
    """xfrm_userpolicy_id (64 bytes): which policy to delete."""
    fields = _SELECTOR + (("index", "I"), ("dir", "B"), ("_pad", "3x"))
    nla_map = _NLAS
    _mark = _mark
    _tmpl = _tmpl


class _dump_request(nlmsg):
    fields = ()


class XfrmSocket(NetlinkSocket):
    """A netlink socket of the XFRM family in this process's network namespace."""

    def __init__(self):
        super().__init__(family=NETLINK_XFRM)
        self.register_policy({XFRM_MSG_NEWSA: _usersa_info, XFRM_MSG_NEWPOLICY: _userpolicy_info})

    def _do(self, msg, msg_type, flags):
        return tuple(self.nlm_request(msg, msg_type, msg_flags=NLM_F_REQUEST | flags))

    def _dump(self, msg_type):
        return self._do(_dump_request(), msg_type, NLM_F_DUMP)


def _ip(packed):
    return str(ipaddress.IPv4Address(packed))


def _packed(address):
    return ipaddress.IPv4Address(address).packed


def _spi(raw):
    return struct.unpack(">I", raw)[0]


def _attr(msg, name, default=None):
    value = msg.get_attr(name)
    return default if value is None else value


def _selector(src, dst, proto):
    return {"sel_saddr": _packed(src), "sel_daddr": _packed(dst), "sel_family": socket.AF_INET,
            "sel_prefixlen_s": 32, "sel_prefixlen_d": 32, "sel_proto": proto}


def _no_limits(msg):
    for i in range(8):
        msg["lft_%d" % i] = NO_LIMIT if i < 4 else 0


# --- security associations -------------------------------------------------


def states(sock, reqid):
    """SAs this collection owns (labelled with `reqid`): [{src, dst, spi, packets, replay_window}]."""
    found = []
    for msg in sock._dump(XFRM_MSG_GETSA):
        if msg.get("reqid") != reqid or msg.get("proto") != IPPROTO_ESP or msg.get("family") != socket.AF_INET:
            continue
        found.append({"src": _ip(msg["saddr"]), "dst": _ip(msg["daddr"]), "spi": _spi(msg["spi"]),
                      "packets": msg["cur_1"],      # xfrm_lifetime_cur: bytes, packets, add, use
                      "replay_window": msg["replay_window"]})
    return found


# No anti-replay window: SPIs and keys are derived, so they outlive a reboot, and a peer that
# restarts sends from sequence number 1 again - a window would drop all it sends until the next
# key. (AES-GCM still authenticates every packet; moby's SAs keep no window either.)
REPLAY_WINDOW = 0


def add_state(sock, src, dst, spi, reqid, key, icv_bits=128):
    """ESP transport SA src -> dst with AES-GCM (`key` = AES key + 4-byte salt)."""
    msg = _usersa_info()        # selector left empty: a transport SA serves any traffic its policy sends
    msg.update(sel_daddr=bytes(4), sel_saddr=bytes(4),
               daddr=_packed(dst), saddr=_packed(src), spi=struct.pack(">I", spi), proto=IPPROTO_ESP,
               reqid=reqid, family=socket.AF_INET, mode=XFRM_MODE_TRANSPORT, replay_window=REPLAY_WINDOW)
    _no_limits(msg)
    aead = struct.pack("=64sII", AEAD_GCM.encode(), len(key) * 8, icv_bits) + bytes(key)   # bits, salt included
    msg["attrs"] = [("XFRMA_ALG_AEAD", aead)]
    sock._do(msg, XFRM_MSG_NEWSA, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)


def delete_state(sock, src, dst, spi):
    msg = _usersa_id()
    msg.update(daddr=_packed(dst), spi=struct.pack(">I", spi), family=socket.AF_INET, proto=IPPROTO_ESP)
    msg["attrs"] = [("XFRMA_SRCADDR", _packed(src) + bytes(12))]
    sock._do(msg, XFRM_MSG_DELSA, NLM_F_ACK)


# --- policies ----------------------------------------------------------------


def policies(sock, mark):
    """Outbound policies carrying `mark` (value, mask): [{src, dst, spi}] (spi: the template's)."""
    found = []
    for msg in sock._dump(XFRM_MSG_GETPOLICY):
        got = msg.get_attr("XFRMA_MARK")
        if msg.get("dir") != XFRM_POLICY_OUT or got is None or (got["v"], got["m"]) != tuple(mark):
            continue
        tmpl = msg.get_attr("XFRMA_TMPL")
        found.append({"src": _ip(msg["sel_saddr"]), "dst": _ip(msg["sel_daddr"]),
                      "spi": _spi(tmpl["spi"]) if tmpl is not None else None})
    return found


def put_policy(sock, src, dst, spi, reqid, mark):
    """Create or replace the outbound policy src -> dst: marked UDP goes through ESP SA `spi`."""
    msg = _userpolicy_info()
    msg.update(_selector(src, dst, socket.IPPROTO_UDP))
    msg.update(dir=XFRM_POLICY_OUT, action=0)
    _no_limits(msg)
    tmpl = {"daddr": _packed(dst), "saddr": _packed(src), "spi": struct.pack(">I", spi),
            "proto": IPPROTO_ESP, "family": socket.AF_INET, "reqid": reqid,
            "mode": XFRM_MODE_TRANSPORT, "aalgos": 0xFFFFFFFF, "ealgos": 0xFFFFFFFF,
            "calgos": 0xFFFFFFFF}
    msg["attrs"] = [("XFRMA_TMPL", tmpl), ("XFRMA_MARK", {"v": mark[0], "m": mark[1]})]
    sock._do(msg, XFRM_MSG_UPDPOLICY, NLM_F_ACK | NLM_F_CREATE)


def delete_policy(sock, src, dst, mark):
    msg = _userpolicy_id()
    msg.update(_selector(src, dst, socket.IPPROTO_UDP))
    msg["dir"] = XFRM_POLICY_OUT
    msg["attrs"] = [("XFRMA_MARK", {"v": mark[0], "m": mark[1]})]
    sock._do(msg, XFRM_MSG_DELPOLICY, NLM_F_ACK)


# --- what the kernel can do ----------------------------------------------------


# An SA with the overlay's own algorithm, added in a scratch network namespace that
# dies with the command: the host's SAD never sees it. `ip` is asked only for its
# exit status (it autoloads esp4 where that is a module), its output is not read.
_PROBE = ["unshare", "--net", "--", "ip", "xfrm", "state", "add", "src", "192.0.2.1", "dst", "192.0.2.2",
          "proto", "esp", "spi", "0x100", "mode", "transport", "aead", AEAD_GCM,
          "0x" + "00" * 20, "128"]


def esp_available():
    """Whether this kernel can do ESP transport with AES-GCM (stdlib only: runs before prereqs)."""
    try:
        return subprocess.run(_PROBE, capture_output=True, check=False).returncode == 0
    except OSError:
        return False


# Software GSO and GRO for ESP live in the esp4_offload module. Without it every
# segment is encrypted and every datagram received is decrypted and climbs the
# stack on its own; with it ESP is decrypted in GRO and the inner TCP merged again
# (+35-50 % encrypted throughput on the VM test bed, docs/BENCHMARKS.md). The kernel
# takes an SA's offload functions when the SA is added, so it is loaded before any.
# No netlink message loads a module: modprobe is asked for its exit status only.
ESP_OFFLOAD = "esp4_offload"


def esp_offload_loadable():
    """Whether esp4_offload is a module of this kernel that is not loaded yet (loaded or built in: False)."""
    if os.path.isdir("/sys/module/" + ESP_OFFLOAD):
        return False
    try:
        return subprocess.run(["modprobe", "--dry-run", "--quiet", ESP_OFFLOAD], capture_output=True,
                              check=False).returncode == 0 and not _builtin(ESP_OFFLOAD)
    except OSError:             # no modprobe: no loadable modules either
        return False


def _builtin(name):
    try:
        with open("/lib/modules/%s/modules.builtin" % os.uname().release) as listing:
            return any(line.rstrip().endswith("/%s.ko" % name) for line in listing)
    except OSError:
        return False


def load_esp_offload():
    done = subprocess.run(["modprobe", ESP_OFFLOAD], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise OSError("modprobe %s: %s" % (ESP_OFFLOAD, done.stderr.strip() or "exit %d" % done.returncode))
