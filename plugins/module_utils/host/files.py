# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files the collection keeps on a host (units, task specs, records): read, and replace atomically."""

from __future__ import annotations

import os
import shutil


def read(path):
    """The file's text, or None when it does not exist."""
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def write(path, text, mode=0o644):
    """Replace the file in one rename, so a reader never sees half of it."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = "%s.swarmnet-tmp.%d" % (path, os.getpid())     # lab hosts share /opt: one per writer
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "w") as f:
        f.write(text)
    os.replace(tmp, path)


def ensure(wanted, changes, executable=(), mode=0o644):
    """Write each of {path: text} whose content differs (paths in `executable` mode 0755, others `mode`).

    Returns whether any was written."""
    written = False
    for path, text in sorted(wanted.items()):
        if read(path) != text:
            changes("write %s" % path, write, path, text, 0o755 if path in executable else mode)
            written = True
    return written


def remove_tree(path):
    """Remove a directory tree; what another writer removed meanwhile (lab hosts share /opt) is fine."""
    def gone_already(_func, _path, exc_info):
        if not issubclass(exc_info[0], FileNotFoundError):
            raise exc_info[1]
    shutil.rmtree(path, onerror=gone_already)
