# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One thread in another network namespace for a moment: sockets made there stay there.

setns(2) moves only the calling thread, so a program can hold sockets in many sandboxes
(the resolver) or probe a task from inside its sandbox (the live agent) while its other
threads stay home. Standard library only: the resolver program carries a copy.
"""

from __future__ import annotations

import contextlib
import ctypes
import os

CLONE_NEWNET = 0x40000000


def _setns(fd):
    if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "setns: %s" % os.strerror(err))


@contextlib.contextmanager
def inside(netns):
    """Run the block with this thread in namespace /run/netns/NETNS, then back home."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open("/run/netns/" + netns, os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(home)        # raises rather than leave this thread in the sandbox
    finally:
        os.close(home)
