# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Encrypted overlays (Swarm's `--opt encrypted`): what a host needs, from the keyring.

Pure Python, no I/O. VXLAN datagrams of an encrypted network travel in ESP
transport mode with AES-GCM between every pair of its hosts, as in moby's
drivers/overlay/encryption.go, with these choices:

- Keys are per pair and direction: each SA's key (AES key + GCM salt) is derived
  with HKDF-SHA256 (RFC 5869) from a cluster key of the keyring, so no two SAs
  share a key and nonce space. Both ends derive the same values on their own.
- SPIs are derived from (source, destination, key tag, key fingerprint): a key
  replaced under the same tag gets new SPIs, hence new SAs.
- Every key of the ring (at most three, as swarmkit keeps) has SAs in both
  directions; the outbound policy names the primary key's SPI, so switching the
  key a host sends with is one atomic policy update.
- Fail closed: an nftables table marks the network's VXLAN datagrams for the
  policy, and drops them whenever they would leave without a transform or
  arrive without one (CVE-2023-28840/28841/28842: plaintext sent or accepted).
  The table is made before the VXLAN device exists and goes after it.
"""

from __future__ import annotations

import hashlib
import hmac
import re

MARK = (0x53570000, 0xFFFF0000)   # packet mark ("SW" in the high half) the policies select on
REQID = 0x5357454E                # labels the SAs this collection owns
TABLE = "swarmnet_esp"
FAMILY = "ip"
# ESP transport with AES-GCM-128 ICV: SPI 4 + sequence 4 + IV 8 + pad length 1 + next
# header 1 + ICV 16; the payload is then padded to four bytes (see mtu()).
ESP_OVERHEAD = 34
MAX_KEYS = 3
KEY_LENGTHS = {20: "AES-128", 36: "AES-256"}   # bytes: AES key + 4-byte GCM salt
HEX_RE = re.compile(r"^[0-9a-fA-F]+$")
MAX_TAG = 0xFFFF


def mtu(vxlan_mtu):
    """The largest inner MTU whose VXLAN datagram still fits once in ESP."""
    inner = vxlan_mtu - ESP_OVERHEAD
    return inner - inner % 4


def _described(value):
    """A key as an error may show it: never its digits."""
    if isinstance(value, str):
        return "<%d characters, redacted>" % len(value)
    return "<%s, redacted>" % type(value).__name__


def parse_keyring(keyring):
    """{primary, keys: [{tag, key}]} -> ({tag: bytes}, primary tag, []) or (None, None, errors).

    Each error is (key, shown value, why); the shown value never holds key digits.
    """
    errors = []
    if not isinstance(keyring, dict):
        return None, None, [("", _described(keyring), "must be a mapping {primary, keys}")]
    entries = keyring.get("keys")
    if not isinstance(entries, list) or not entries:
        return None, None, [(".keys", _described(entries), "must be a list of one to %d keys" % MAX_KEYS)]
    if len(entries) > MAX_KEYS:
        errors.append((".keys", "<%d keys>" % len(entries), "a keyring holds at most %d keys" % MAX_KEYS))
    keys = {}
    for i, entry in enumerate(entries):
        where = ".keys[%d]" % i
        if not isinstance(entry, dict):
            errors.append((where, _described(entry), "must be a mapping {tag, key}"))
            continue
        tag = entry.get("tag")
        if isinstance(tag, bool) or not isinstance(tag, int) or not 1 <= tag <= MAX_TAG:
            errors.append((where + ".tag", repr(tag), "must be an integer from 1 to %d" % MAX_TAG))
            continue
        if tag in keys:
            errors.append((where + ".tag", repr(tag), "tag used twice in the keyring"))
            continue
        text = entry.get("key")
        if not isinstance(text, str) or not HEX_RE.match(text) or len(text) // 2 not in KEY_LENGTHS \
                or len(text) % 2:
            errors.append((where + ".key", _described(text),
                           "must be %s hex digits (AES key + 4-byte salt: %s)"
                           % (" or ".join(str(2 * n) for n in KEY_LENGTHS),
                              ", ".join("%d for %s" % (2 * n, name) for n, name in KEY_LENGTHS.items()))))
            continue
        keys[tag] = bytes.fromhex(text)
    primary = keyring.get("primary")
    if primary not in keys and not errors:
        errors.append((".primary", repr(primary), "must be the tag of a key in the ring (%s)"
                       % ", ".join(str(t) for t in sorted(keys))))
    if errors:
        return None, None, errors
    return keys, primary, []


def _hkdf(key, info, length):
    """HKDF-SHA256 (RFC 5869) with a fixed salt."""
    prk = hmac.new(b"swarmnet.overlay esp", key, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def _direction(src, dst, tag):
    return ("%s>%s#%d" % (src, dst, tag)).encode()


def sa_key(cluster_key, src, dst, tag):
    """The key material (AES key + salt) of the SA src -> dst under key `tag`."""
    return _hkdf(cluster_key, b"key " + _direction(src, dst, tag), len(cluster_key))


def spi(cluster_key, src, dst, tag):
    """The SPI of the SA src -> dst under key `tag`: deterministic, 256..2**32-1."""
    digest = hashlib.sha256(b"spi " + _direction(src, dst, tag) + hashlib.sha256(cluster_key).digest())
    value = int.from_bytes(digest.digest()[:4], "big")
    return value if value >= 256 else value + 256     # SPIs below 256 are reserved


def wanted(local, peers, keys, primary):
    """SAs and outbound policies for this host: ([{src, dst, spi, tag}], [{src, dst, spi}])."""
    states, policies = [], []
    for peer in sorted(set(peers) - {local}):
        for tag in sorted(keys):
            for src, dst in ((local, peer), (peer, local)):
                states.append({"src": src, "dst": dst, "spi": spi(keys[tag], src, dst, tag), "tag": tag})
        policies.append({"src": local, "dst": peer, "spi": spi(keys[primary], local, peer, primary)})
    return states, policies


def render(networks):
    """The nft table for the encrypted networks [{vni, data_port}] of this host (None: no table)."""
    if not networks:
        return None
    matches = ["udp dport %d @th,96,24 %d" % (int(n["data_port"]), int(n["vni"]))
               for n in sorted(networks, key=lambda n: (int(n["data_port"]), int(n["vni"])))]
    value, mask = MARK
    lines = ["table %s %s {" % (FAMILY, TABLE),
             "  counter plaintext_out_dropped {", "  }",
             "  counter plaintext_in_dropped {", "  }",
             "  chain mark_out {",
             "    type route hook output priority mangle; policy accept;"]
    lines += ["    %s meta mark set meta mark & 0x%08x | 0x%08x" % (m, ~mask & 0xFFFFFFFF, value)
              for m in matches]
    lines += ["  }", "  chain out {",
              "    type filter hook postrouting priority filter; policy accept;"]
    lines += ['    %s rt ipsec missing counter name "plaintext_out_dropped" drop' % m for m in matches]
    lines += ["  }", "  chain in {",
              "    type filter hook input priority filter - 20; policy accept;"]
    lines += ['    %s meta ipsec missing counter name "plaintext_in_dropped" drop' % m for m in matches]
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def rotation(keyring, new_key):
    """The three keyrings of a rotation to `new_key` (hex): install, switch, retire.

    install: the ring plus the new key (the oldest key that is not primary makes room
    when the ring is full); switch: the new key is primary; retire: only the new key
    is left. Each step must reach every host before the next is applied.
    """
    keys, primary, errors = parse_keyring(keyring)
    if errors:
        raise ValueError("keyring%s=%s: %s" % errors[0])
    _new, _p, errors = parse_keyring({"primary": 1, "keys": [{"tag": 1, "key": new_key}]})
    if errors:
        raise ValueError("new key%s: %s" % (errors[0][0][len(".keys[0]"):], errors[0][2]))
    tag = max(keys) % MAX_TAG + 1
    while tag in keys:
        tag = tag % MAX_TAG + 1
    ring = [{"tag": t, "key": keys[t].hex()} for t in sorted(keys)]
    while len(ring) >= MAX_KEYS:
        ring.remove(next(k for k in ring if k["tag"] != primary))
    ring.append({"tag": tag, "key": new_key.lower()})
    return [{"primary": primary, "keys": ring},
            {"primary": tag, "keys": ring},
            {"primary": tag, "keys": [ring[-1]]}]
