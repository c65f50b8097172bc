# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host's encrypted overlays made real: the nft table, ESP SAs, outbound policies, keyring file.

The order is what keeps plaintext off the wire: the table that marks and
guards the encrypted VNIs comes first and goes last; SAs are added before a
policy names them and removed after no policy does. What esp.py derives is
compared with the kernel by (source, destination, SPI): the SPI already
carries the key's fingerprint, so keys are never read back or shown.
"""

from __future__ import annotations

import contextlib
import json
import os

from ansible_collections.swarmnet.overlay.plugins.module_utils.host import files
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import nftables, xfrm
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import esp

KEPT_FILE = "esp.json"


def kept_path(state_dir):
    return os.path.join(state_dir, KEPT_FILE)


def kept_text(networks, keys, primary):
    return json.dumps({"networks": sorted(networks, key=lambda n: (n["vni"], n["data_port"])),
                       "primary": primary,
                       "keys": [{"tag": t, "key": keys[t].hex()} for t in sorted(keys)]},
                      sort_keys=True) + "\n"


def load(state_dir):
    """What this host last applied: (networks, {tag: bytes}, primary); ([], {}, None) if nothing."""
    text = files.read(kept_path(state_dir))
    if text is None:
        return [], {}, None
    kept = json.loads(text)
    keys, primary, errors = esp.parse_keyring(kept)
    if errors:
        raise ValueError("%s: %s" % (kept_path(state_dir), "; ".join("keyring%s: %s" % (k, why) for k, _v, why in errors)))
    return kept["networks"], keys, primary


def _sa(item):
    tag = " (key %d)" % item["tag"] if "tag" in item else ""
    return "ESP SA %s > %s spi 0x%08x%s" % (item["src"], item["dst"], item["spi"], tag)


def listing(sock):
    """What exists, for diffs: owned SAs and policies, one line each (no key material)."""
    lines = [_sa(s) for s in sorted(xfrm.states(sock, esp.REQID), key=lambda s: (s["src"], s["dst"], s["spi"]))]
    lines += ["policy out %s > %s via spi 0x%08x" % (p["src"], p["dst"], p["spi"] or 0)
              for p in sorted(xfrm.policies(sock, esp.MARK), key=lambda p: (p["src"], p["dst"]))]
    return lines


def _union(networks, more):
    seen = {(n["vni"], n["data_port"]): n for n in more}
    seen.update({(n["vni"], n["data_port"]): n for n in networks})
    return [dict(n) for n in seen.values()]


@contextlib.contextmanager
def _socket(sock):
    """The caller's XFRM socket, or one of our own for the block."""
    if sock is not None:
        yield sock
        return
    own = xfrm.XfrmSocket()
    try:
        yield own
    finally:
        own.close()


def ensure(local, peers, networks, keys, primary, state_dir, changes, prune=True, sock=None):
    """Make this host's encryption what (networks, peers, keyring) say; nothing when no network is encrypted.

    sock: an XFRM socket to use (the module's, which also lists before and after).
    prune=False only adds: networks kept from the last run stay guarded (their VXLAN
    devices may still carry traffic until the overlay role removes them) and no SA
    or policy is removed; a second call with prune=True, after, removes what is stale.
    Returns what is stale, one line each: what that second call would remove (nothing
    once prune=True removed it), so that a caller can leave it out when there is none.
    """
    networks = [{"name": n.get("name"), "vni": int(n["vni"]), "data_port": int(n["data_port"])} for n in networks]
    stale = []
    if not prune:
        wanted_ports = {(n["vni"], n["data_port"]) for n in networks}
        networks = _union(networks, load(state_dir)[0])
        stale = ["guard of vni %d (port %d), kept from the last run" % (n["vni"], n["data_port"])
                 for n in networks if (n["vni"], n["data_port"]) not in wanted_ports]
    body = esp.render(networks)
    if body is not None:        # the guard first ...
        nftables.ensure(esp.FAMILY, esp.TABLE, body, changes)
    states, policies = esp.wanted(local, peers, keys, primary) if networks else ([], [])
    if states and xfrm.esp_offload_loadable():
        changes("load kernel module %s (ESP GSO/GRO in software)" % xfrm.ESP_OFFLOAD, xfrm.load_esp_offload)
    with _socket(sock) as sock:
        found = {(s["src"], s["dst"], s["spi"]): s for s in xfrm.states(sock, esp.REQID)}
        have = set(found)
        for sa in states:
            key = (sa["src"], sa["dst"], sa["spi"])
            if key in have and found[key]["replay_window"] != xfrm.REPLAY_WINDOW:    # made by 0.3 and earlier
                changes("remove %s (replay window %d)" % (_sa(sa), found[key]["replay_window"]),
                        xfrm.delete_state, sock, *key)
                have.discard(key)
            if key not in have:
                changes("add " + _sa(sa), xfrm.add_state, sock, sa["src"], sa["dst"], sa["spi"], esp.REQID,
                        esp.sa_key(keys[sa["tag"]], sa["src"], sa["dst"], sa["tag"]))
        routed = {(p["src"], p["dst"]): p["spi"] for p in xfrm.policies(sock, esp.MARK)}
        for pol in policies:
            if routed.get((pol["src"], pol["dst"])) != pol["spi"]:
                changes("%s policy out %s > %s via spi 0x%08x"
                        % ("switch" if (pol["src"], pol["dst"]) in routed else "add", pol["src"], pol["dst"], pol["spi"]),
                        xfrm.put_policy, sock, pol["src"], pol["dst"], pol["spi"], esp.REQID, esp.MARK)
        for src, dst in sorted(set(routed) - {(p["src"], p["dst"]) for p in policies}):
            if prune:
                changes("remove policy out %s > %s" % (src, dst), xfrm.delete_policy, sock, src, dst, esp.MARK)
            else:
                stale.append("policy out %s > %s" % (src, dst))
        for src, dst, spi in sorted(have - {(s["src"], s["dst"], s["spi"]) for s in states}):
            if prune:
                changes("remove " + _sa({"src": src, "dst": dst, "spi": spi}), xfrm.delete_state, sock, src, dst, spi)
            else:
                stale.append(_sa({"src": src, "dst": dst, "spi": spi}))
    if body is None:            # ... and last
        nftables.ensure(esp.FAMILY, esp.TABLE, None, changes)
    _keep(state_dir, networks, keys, primary, changes)
    return stale


def _keep(state_dir, networks, keys, primary, changes):
    """Networks and keyring for the restore at boot: root-only (0600), removed with the last network."""
    path = kept_path(state_dir)
    if not networks:
        if os.path.exists(path):
            changes("remove %s" % path, os.unlink, path)
        return
    text = kept_text(networks, keys, primary)
    if files.read(path) != text or os.stat(path).st_mode & 0o077:
        changes("write %s (mode 0600)" % path, files.write, path, text, 0o600)
