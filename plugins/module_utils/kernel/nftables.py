# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One nftables table, owned whole by the collection, replaced atomically.

Desired and actual are compared in nft's own JSON form: the desired text is
loaded into a scratch network namespace (`unshare --net`) and listed there, so
nft itself normalises both sides (set element order, expression forms). Rule
handles and counter values are left out of the comparison.

A table is read with one nft command, run in this process through libnftables where it
loads (an nft process costs about 3 ms here and 0.1 s under emulation, where the live agent
re-applies balancing within seconds); a desired text's canonical form is worked out once per
process, by the nft program in the scratch namespace, and kept for later runs (nft_listings).
"""

from __future__ import annotations

import functools
import json
import subprocess

from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import libnftables, nft_listings

VOLATILE = ("handle", "packets", "bytes")
UNREAD = object()           # the caller has not read the table (None: it read it, and there is none)


class NftError(Exception):
    pass


def _run(cmd, stdin=None):
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise NftError("%s failed: %s" % (" ".join(cmd), proc.stderr.strip()))
    return proc.stdout


def _nft(args, stdin=None):
    """`nft ARGS` (`-f -` reads `stdin`): in this process through libnftables where it loads, which saves
    starting a program (about 3 ms a command here, 0.1 s under emulation), else the nft program."""
    if not libnftables.available():
        return _run(["nft"] + args, stdin)
    json_output = args[:1] == ["-j"]
    words = args[1:] if json_output else args
    rc, output, error = libnftables.run(stdin if words == ["-f", "-"] else " ".join(words), json_output)
    if rc != 0:
        raise NftError("nft %s failed: %s" % (" ".join(args), error.strip()))
    return output


def _without_volatile(obj):
    """json.loads' object_hook: each object as parsed, without the keys that differ between equal tables
    (the parser calls it once per object, which costs less than walking the result again)."""
    if any(key in obj for key in VOLATILE):
        return {k: v for k, v in obj.items() if k not in VOLATILE}
    return obj


def _objects(listing):
    return [item for item in json.loads(listing, object_hook=_without_volatile).get("nftables", [])
            if "metainfo" not in item]


def exists(family, table):
    listing = _nft(["-j", "list", "tables", family])
    return any(item.get("table", {}).get("name") == table
               for item in json.loads(listing).get("nftables", []))


def _listing(family, table, json_output):
    """`nft list table` in one run; None when the table does not exist."""
    try:
        return _nft((["-j"] if json_output else []) + ["list", "table", family, table])
    except NftError:
        if exists(family, table):
            raise
        return None


def current(family, table):
    """The table in canonical JSON objects, or None when it does not exist."""
    listing = _listing(family, table, True)
    return None if listing is None else _objects(listing)


@functools.lru_cache(maxsize=64)
def _listed_in_scratch(family, table, text, json_output):
    """Load `text` into a fresh network namespace and list the table there (once per process), and keep
    the listing for later runs."""
    load_then_list = 'nft -f - && exec nft %s list table "$0" "$1"' % ("-j" if json_output else "")
    listing = _run(["unshare", "--net", "--", "sh", "-c", load_then_list, family, table], text)
    nft_listings.keep(family, table, text, json_output, listing)
    return listing


def _listed(family, table, text, json_output, kept):
    """`text` listed as nft would list it; kept=True takes a listing a run before kept (nft_listings),
    which may only ever tell that a table is the same."""
    listing = nft_listings.kept(family, table, text, json_output) if kept else None
    return _listed_in_scratch(family, table, text, json_output) if listing is None else listing


@functools.lru_cache(maxsize=64)
def canonical(family, table, text, kept=False):
    """The desired table in canonical JSON objects, as nft itself would list it (once per process and
    text: sandboxes of one network balance the same services; not to be changed by the caller)."""
    return _objects(_listed(family, table, text, True, kept))


def canonical_text(family, table, text, kept=False):
    """The desired table as `nft list table` would print it (for diffs)."""
    return _listed(family, table, text, False, kept)


def is_listed_as(listing, family, table, text):
    """Whether a table's listing (listed()'s) is the one nft gives for `text`."""
    return listing == canonical_text(family, table, text, kept=True) or listing == canonical_text(family, table, text)


def differs(family, table, text_, have=UNREAD):
    """Whether the live table (`have`: current()'s result, when the caller read it) differs from
    `text_` (a missing table always does)."""
    have = current(family, table) if have is UNREAD else have
    return have is None or have != canonical(family, table, text_, kept=True) and have != canonical(family, table, text_)


def text(family, table):
    """Human-readable listing for diffs (display only, never parsed)."""
    return listed(family, table) or ""


def listed(family, table):
    """The table as `nft list table` prints it, or None when it does not exist: for a table without
    counters, equal to canonical_text() of the same rules (no handles in either), so a table that
    stays is told by one nft run and a string compare, no JSON parsed."""
    return _listing(family, table, False)


def counters(family, table):
    """{counter name: packets} of the table's named counters."""
    listing = json.loads(_nft(["-j", "list", "counters", "table", family, table]))
    return {item["counter"]["name"]: item["counter"]["packets"]
            for item in listing.get("nftables", []) if "counter" in item}


def replace(family, table, body):
    """Create or replace the table in one transaction."""
    script = "table %s %s {}\ndelete table %s %s\n%s\n" % (family, table, family, table, body)
    _nft(["-f", "-"], stdin=script)


def delete(family, table):
    _nft(["delete", "table", family, table])


def ensure(family, table, body, changes, have=UNREAD):
    """Through `changes`: replace the table when it differs from `body`, delete it when body is None.
    `have`: the table as current() read it, when the caller did."""
    if body is not None:
        if differs(family, table, body, have):
            changes("replace nftables table %s %s" % (family, table), replace, family, table, body)
    elif exists(family, table) if have is UNREAD else have is not None:
        changes("delete nftables table %s %s" % (family, table), delete, family, table)


def reconcile(family, table, body, check_mode):
    """Make the table equal `body` (None: no table). Returns (changed, before, after) listings."""
    before = text(family, table)
    if body is None:
        changed = bool(before)
        if changed and not check_mode:
            delete(family, table)
    else:
        changed = differs(family, table, body)
        if changed and not check_mode:
            replace(family, table, body)
    if not check_mode:
        after = text(family, table)
    elif body is None:
        after = ""
    else:
        after = canonical_text(family, table, body) if changed else before
    return changed, before, after
