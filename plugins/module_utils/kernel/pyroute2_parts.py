# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pyroute2's parts, without its package root.

`import pyroute2` (and so any `from pyroute2.x import y`) first runs the package's
__init__, which imports every part of the library: NDB, IPDB, conntrack, IPSet,
WireGuard, nl80211, plan9 ... (0.15 s of a module's 0.2 s start on the lab, seconds
under emulation). Registering the package without running its __init__ lets each
`from pyroute2.iproute.linux import IPRoute` load only what it needs. A pyroute2
already imported whole (by a caller, a test) is used as it is.
"""

from __future__ import annotations

import importlib.util
import sys


def register():
    """Make `pyroute2` importable part by part; ImportError when it is not installed."""
    if "pyroute2" in sys.modules:
        return
    spec = importlib.util.find_spec("pyroute2")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("No module named 'pyroute2'", name="pyroute2")
    sys.modules["pyroute2"] = importlib.util.module_from_spec(spec)     # its __init__ is not run


MINIMUM = (0, 9)


def installed_version():
    """pyroute2's version, read without importing the library (a few milliseconds); None when it is
    not installed."""
    try:
        register()
        from pyroute2.config.version import __version__
    except ImportError:
        return None
    return __version__


def require(module, version=None, import_error=None):
    """Fail the module clearly when pyroute2 is missing (import_error: the traceback of a failed import)
    or older than MINIMUM. Without a version, it is read without importing the library: for a module
    that only installs a program that uses it (the restore, the live agent)."""
    if import_error is None and version is None:
        version = installed_version()
    if import_error is not None or version is None:
        from ansible.module_utils.basic import missing_required_lib
        module.fail_json(msg=missing_required_lib("pyroute2>=0.9") + " Run the swarmnet.overlay.prereqs role first.",
                         exception=import_error)
    if tuple(int(p) for p in version.split(".")[:2] if p.isdigit()) < MINIMUM:
        module.fail_json(msg="pyroute2 %s on this host is too old: swarmnet.overlay needs >= 0.9 "
                             "(interpreter %s). Run the swarmnet.overlay.prereqs role." % (version, sys.executable))
