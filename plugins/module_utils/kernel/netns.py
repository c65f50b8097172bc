# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Network namespaces by name (under /run/netns), and netlink sockets inside them."""

from __future__ import annotations

import contextlib
import os
import traceback

NETNS_DIR = "/run/netns"

from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import pyroute2_parts, thread_netns

try:
    pyroute2_parts.register()
    from pyroute2.iproute.linux import IPRoute
    from pyroute2 import netns as _netns
    from pyroute2.netlink.exceptions import NetlinkError
    from pyroute2.config.version import __version__ as PYROUTE2_VERSION
    PYROUTE2_IMPORT_ERROR = None
except ImportError:  # reported by require_pyroute2()
    IPRoute = None
    _netns = None
    NetlinkError = OSError
    PYROUTE2_VERSION = None
    PYROUTE2_IMPORT_ERROR = traceback.format_exc()


def require_pyroute2(module):
    """Fail the module clearly when pyroute2 (>= 0.9) is missing or too old."""
    pyroute2_parts.require(module, PYROUTE2_VERSION, PYROUTE2_IMPORT_ERROR)


# What a module reports as a clean failure instead of a traceback.
KERNEL_ERRORS = (OSError, NetlinkError)


def _mounted(path):
    """Whether a namespace is mounted on `path`. A name is made in two steps, an empty file and then
    the namespace bound onto it (iproute2 and pyroute2 alike): a run killed between the two leaves
    the file alone, which is no namespace (entering it fails with EINVAL). A namespace is on nsfs,
    never on the device of the directory that names it."""
    try:
        return os.stat(path).st_dev != os.stat(os.path.dirname(path)).st_dev
    except OSError:
        return False


def exists(name):
    return _mounted(os.path.join(NETNS_DIR, name))


def names():
    """Every named network namespace on this host, sorted."""
    if not os.path.isdir(NETNS_DIR):
        return []
    return sorted(name for name in os.listdir(NETNS_DIR) if exists(name))


def create(name):
    """Make namespace `name`, in the place of the empty file a creation that was killed left."""
    path = os.path.join(NETNS_DIR, name)
    if os.path.lexists(path) and not _mounted(path):
        os.unlink(path)
    _netns.create(name)


def remove(name):
    _netns.remove(name)


def enter(name):
    """Move this process into namespace `name` (for IPVS, /proc/sys/net and nft)."""
    _netns.setns(name, flags=0)


@contextlib.contextmanager
def inside(name):
    """Run the block with this process in namespace `name`, then back where it was."""
    _netns.pushns()
    try:
        enter(name)
        yield
    finally:
        _netns.popns()


def with_rtnl(name, action, *args, **kwargs):
    """action(socket, ...) with an IPRoute socket in namespace `name`: for a change that needs one
    where the caller holds none (a run that changes nothing opens none)."""
    with rtnl(name) as ipr:
        return action(ipr, *args, **kwargs)


class LazyRtnl:
    """rtnl(name), opened on first use and closed at the end of the `with` block: for a reconcile whose
    reads were made beforehand, so that a namespace with nothing to change costs no socket."""

    def __init__(self, name):
        self._name = name
        self._ipr = None

    def __getattr__(self, attribute):
        if self._ipr is None:
            self._ipr = rtnl(self._name)
        return getattr(self._ipr, attribute)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self._ipr is not None:
            self._ipr.close()


def rtnl(name=None):
    """An IPRoute socket in namespace `name` (None: the host namespace); never creates one.

    Made by this thread while it stands in the namespace: a socket stays in the namespace it was
    made in. pyroute2's own IPRoute(netns=...) forks a helper per socket, about 20 times dearer
    (9 ms against 0.4 ms on the lab), and a converge opens several per sandbox.
    """
    if name is None:
        return IPRoute()
    with thread_netns.inside(name):
        return IPRoute()
