# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What nft printed for a desired table, kept across module runs.

Whether a table is as wanted is told by listing the desired text as nft itself would (nftables.py:
loaded into a scratch network namespace, listed there): a process tree per distinct text, 7 ms on
the lab's machine and 0.3 s on an emulated host, in every run, for texts that seldom change. Each
listing is kept in a file named by a hash of the text and of what printed it (the kernel, the nft
program, its library), in the collection's virtualenv beside its bytecode cache: only where the
prereqs role installed that (swarmnet_bytecode_cache is imported at the virtualenv's start),
nowhere else. A kept listing is trusted only to say "the same": where the live table differs from
it, the text is listed again before anything changes. At most MAX_KEPT files, the oldest go first.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import sys

from ansible_collections.swarmnet.overlay.plugins.module_utils.host import files
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import libnftables

DIRNAME = "nft-listings"
MAX_KEPT = 512
HOOK = "swarmnet_bytecode_cache"      # roles/prereqs/files: what marks the collection's virtualenv


def directory():
    """Where listings are kept, or None where this Python is not the collection's virtualenv."""
    return os.path.join(sys.prefix, DIRNAME) if HOOK in sys.modules else None


@functools.lru_cache(maxsize=1)
def _printer():
    """What an nft listing depends on besides the text: an upgrade of any of them names other files."""
    parts = [os.uname().release]
    nft = shutil.which("nft")
    libnftables.available()             # loaded, so that the maps name it
    libraries = []
    try:
        with open("/proc/self/maps") as maps:
            libraries = sorted({line.split()[-1] for line in maps if "libnftables" in line})
    except OSError:
        pass
    for path in ([nft] if nft else []) + libraries:
        try:
            st = os.stat(path)
            parts.append("%s %d %d" % (path, st.st_size, st.st_mtime_ns))
        except OSError:
            parts.append(path)
    return "\n".join(parts)


def _path(family, table, text, json_output):
    where = directory()
    if where is None:
        return None
    key = "\0".join((_printer(), family, table, "json" if json_output else "text", text))
    return os.path.join(where, hashlib.sha256(key.encode()).hexdigest())


def kept(family, table, text, json_output):
    """The listing kept for the text, or None."""
    path = _path(family, table, text, json_output)
    if path is None:
        return None
    try:
        return files.read(path)
    except OSError:
        return None


def keep(family, table, text, json_output, listing):
    """Keep the listing (written whole); nothing where there is no place for it or it cannot be written."""
    path = _path(family, table, text, json_output)
    if path is None:
        return
    try:
        _directory_made(os.path.dirname(path))
        files.write(path, listing, 0o600)
        _bound(os.path.dirname(path))
    except OSError:
        pass


def _directory_made(where):
    """Its own directory only, not the virtualenv's: a process still running after a teardown removed
    the virtualenv (a live agent, on its way out) must not make it again."""
    try:
        os.mkdir(where, 0o700)
    except FileExistsError:
        pass


def _bound(where):
    names = os.listdir(where)
    if len(names) <= MAX_KEPT:
        return
    paths = [os.path.join(where, name) for name in names]
    for path in sorted(paths, key=_age)[:len(paths) - MAX_KEPT // 2]:
        try:
            os.unlink(path)
        except OSError:
            pass        # another run took it first


def _age(path):
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0
