# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's encryption (guard table, SAs, policies) as a Batch item: what overlay_encryption and
overlay_host run."""

from __future__ import annotations

import ipaddress

from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import encryption, netns, nftables, xfrm
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import esp

ERRORS = (nftables.NftError,) + netns.KERNEL_ERRORS

# What to have: overlay_encryption's options, and overlay_host's `encryption`.
OPTIONS = dict(
    local=dict(type="str"),
    peers=dict(type="list", elements="str", default=[]),
    networks=dict(type="list", elements="dict", default=[], options=dict(
        name=dict(type="str"),
        vni=dict(type="int", required=True),
        data_port=dict(type="int", default=4789),
    )),
    # Not no_log as a whole: that would also mask the tags (small numbers) in every line of
    # output. hide_keys() adds each key's digits to the masked values as soon as they are read.
    keyring=dict(type="dict", no_log=False),
)


def hide_keys(module, keyring):
    for entry in ((keyring or {}).get("keys") or []):
        if isinstance(entry, dict) and isinstance(entry.get("key"), str):
            module.no_log_values.add(entry["key"])


def checked(module, wanted, where=""):
    """(keys, primary) of the keyring; ends the run on an address, a keyring or a kernel that cannot
    encrypt the networks. Nothing to check without networks."""
    if not wanted["networks"]:
        return {}, None
    if not (wanted["local"] and wanted["keyring"]):
        module.fail_json(msg="%snetworks given: %slocal and %skeyring are required" % (where, where, where))
    for key, value in [("local", wanted["local"])] + [("peers[%d]" % i, v) for i, v in enumerate(wanted["peers"])]:
        try:
            ipaddress.IPv4Address(value)
        except ValueError:
            module.fail_json(msg="%s%s=%r: not an IPv4 address" % (where, key, value))
    keys, primary, errors = esp.parse_keyring(wanted["keyring"])
    if errors:
        module.fail_json(msg="; ".join("%skeyring%s=%s: %s" % ((where,) + error) for error in errors))
    if not xfrm.esp_available():
        module.fail_json(msg="%snetworks %s: this host's kernel has no ESP transform with %s (CONFIG_INET_ESP)"
                         % (where, ", ".join(n["name"] or str(n["vni"]) for n in wanted["networks"]), xfrm.AEAD_GCM))
    return keys, primary


def reconcile(check_mode, wanted, keys, primary, state_dir, prune):
    """reconcile(changes) -> (before, after, facts): the SAs, policies and guard table as listed, and
    {sas: how many this host owns, stale: what a pruning run would remove (empty when pruning)}.
    prune=False only adds (encryption.ensure())."""
    def run(changes):
        sock = xfrm.XfrmSocket()
        try:
            before = encryption.listing(sock)
            table_before = nftables.text(esp.FAMILY, esp.TABLE)
            stale = encryption.ensure(wanted["local"], wanted["peers"], wanted["networks"], keys, primary, state_dir,
                                      changes, prune=prune, sock=sock)
            after = encryption.listing(sock)
        finally:
            sock.close()
        table_after = nftables.text(esp.FAMILY, esp.TABLE)
        if check_mode:      # nothing moved: show what was and what would be done
            after, table_after = before + ["would " + line for line in changes.done], table_before
        owned = sum(1 for line in after if line.startswith("ESP SA"))
        return ("\n".join(before) + "\n" + table_before, "\n".join(after) + "\n" + table_after,
                {"sas": owned, "stale": stale})
    return run


def run(batch, wanted, keys, primary, state_dir, prune):
    """One item, "encryption"; its result (with `stale`, empty when it failed)."""
    result = batch.run("encryption", reconcile(batch.check_mode, wanted, keys, primary, state_dir, prune))
    result.setdefault("stale", [])
    return result
