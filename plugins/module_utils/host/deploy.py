# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's programs on a host: its module_utils as a package tree, and entry points into it.

The restore at boot and the live agent run the same code the modules run. A module that
installs one of them writes every module_utils file it has loaded under LIB_DIR (a tree
another writer may share: files are replaced whole, never removed here) and a small entry
point under LIBEXEC that imports its program from there and calls its main().
"""

from __future__ import annotations

import inspect
import os
import sys

LIB_DIR = "/opt/swarmnet/lib"
LIBEXEC = "/opt/swarmnet/libexec"
PACKAGE = "ansible_collections.swarmnet.overlay.plugins.module_utils"


def _module_path(module):
    """Where `module` goes under LIB_DIR: a package as its __init__.py."""
    parts = module.__name__.split(".")
    if hasattr(module, "__path__"):
        return os.path.join(LIB_DIR, *parts, "__init__.py")
    return os.path.join(LIB_DIR, *parts) + ".py"


def package_files():
    """{path: text}: every loaded module_utils file of the collection, with the package markers."""
    prefix = PACKAGE + "."
    wanted = {}
    for name, module in sorted(sys.modules.items()):
        if name.startswith(prefix) and module is not None:
            # the collection's package markers are empty files (inspect reads no source from them)
            wanted[_module_path(module)] = "" if hasattr(module, "__path__") else inspect.getsource(module)
    parts = PACKAGE.split(".")
    for depth in range(1, len(parts) + 1):
        wanted[os.path.join(LIB_DIR, *parts[:depth], "__init__.py")] = ""
    return wanted


def entry_point_text(python, program, purpose):
    """A script that runs the module `program`'s main(argv) from LIB_DIR with `python`."""
    package, name = program.__name__.rsplit(".", 1)
    return "\n".join([
        "#!" + python,
        "# %s (swarmnet.overlay)." % purpose,
        "import sys",
        "sys.path.insert(0, %r)" % LIB_DIR,
        "from %s import %s" % (package, name),
        "sys.exit(%s.main(sys.argv[1:]))" % name,
    ]) + "\n"
