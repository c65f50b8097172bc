# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's programs on a host: its module_utils as a package tree, and entry points into it.

The restore at boot and the live agent run the same code the modules run. A module that
installs one of them writes the program's module_utils files under LIB_DIR (a tree another
writer may share: files are replaced whole, never removed here) and a small entry point under
LIBEXEC that imports the program from there and calls its main().

The files are the program's imports, followed from its source without running them: a module
that only installs a program does not pay for the program's imports (pyroute2 above all: a
tenth of a second here, over a second on an emulated host). The collection's code imports its
module_utils one way, `from PACKAGE.x import a, b` (a unit test holds every file to it).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re

LIB_DIR = "/opt/swarmnet/lib"
LIBEXEC = "/opt/swarmnet/libexec"
PACKAGE = "ansible_collections.swarmnet.overlay.plugins.module_utils"


# `from PACKAGE.x import a, b` and `from PACKAGE.x import (a,\n b)`: the module, and what it names.
_IMPORT = re.compile(r"^[ \t]*from[ \t]+(%s(?:\.\w+)*)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)" % re.escape(PACKAGE), re.M)


def imported(source):
    """{module: names}: what `source` imports from the collection's module_utils, `from module import
    names` (a name is a module of a package, or something a module defines)."""
    found = {}
    for module, listed in _IMPORT.findall(source.replace("\\\n", " ")):     # lines joined by a backslash
        names = (item.split(" as ")[0].strip() for item in re.sub(r"#[^\n]*", "", listed).strip("()").split(","))
        found.setdefault(module, set()).update(name for name in names if name)
    return found


@functools.lru_cache(maxsize=None)
def _find(name):
    """(source, is a package) of module `name`, found without running it (only its packages run, and
    the collection's are empty)."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError("no module named %s" % name, name=name)
    return spec.loader.get_source(name) or "", spec.submodule_search_locations is not None


def program_files(program):
    """{path under LIB_DIR: text}: module `program` (dotted) and the collection's modules it imports,
    at any depth, with the package markers."""
    wanted, todo, done = {}, [program], set()
    while todo:
        name = todo.pop()
        if name in done:
            continue
        done.add(name)
        text, is_package = _find(name)
        parts = name.split(".")
        if is_package:
            wanted[os.path.join(LIB_DIR, *parts, "__init__.py")] = ""
            continue
        wanted[os.path.join(LIB_DIR, *parts) + ".py"] = text
        for module, names in imported(text).items():
            todo.append(module)
            if _find(module)[1]:        # from a package, each name is one of its modules
                todo.extend(module + "." + n for n in names)
    parts = PACKAGE.split(".")
    for depth in range(1, len(parts) + 1):
        wanted[os.path.join(LIB_DIR, *parts[:depth], "__init__.py")] = ""
    return wanted


def entry_point_text(python, program, purpose):
    """A script that runs the main(argv) of module `program` (dotted) from LIB_DIR with `python`."""
    package, name = program.rsplit(".", 1)
    return "\n".join([
        "#!" + python,
        "# %s (swarmnet.overlay)." % purpose,
        "import sys",
        "sys.path.insert(0, %r)" % LIB_DIR,
        "from %s import %s" % (package, name),
        "sys.exit(%s.main(sys.argv[1:]))" % name,
    ]) + "\n"
