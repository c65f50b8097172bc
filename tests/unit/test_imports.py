"""Modules import what they run, no more: under an emulated CPU pyroute2's import alone takes
1.7-2.7 s of every module run (docs/DESIGN-NOTES.md). Modules that program no kernel object (or
only install a program that does: restore_point, live_agent) import no netlink library, and no
module a host runs imports the planner."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTIONS = os.path.join(ROOT, "build", "collections")
FILE_ONLY = ["cluster_plan", "live_wait", "task_hold", "service_task", "service_registry", "svc_dns", "restore_point",
             "live_agent"]
PLANNER = "ansible_collections.swarmnet.overlay.plugins.module_utils.plan.plan"
# cluster_plan runs on the controller, through its action plugin.
HOST_MODULES = sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "modules"))
                      if name.endswith(".py") and name != "cluster_plan.py")


def _loaded(name):
    """The modules loaded by importing module `name` in a fresh interpreter."""
    code = ("import importlib, sys; importlib.import_module('ansible_collections.swarmnet.overlay.plugins.modules.%s');"
            " print('\\n'.join(sys.modules))" % name)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env=dict(os.environ, PYTHONPATH=COLLECTIONS))
    return done.stdout.split()


@pytest.mark.parametrize("name", FILE_ONLY)
def test_a_module_that_only_reads_and_writes_files_does_not_import_pyroute2(name):
    assert [module for module in _loaded(name) if module.split(".")[0] == "pyroute2"] == []


@pytest.mark.parametrize("name", HOST_MODULES)
def test_a_module_a_host_runs_does_not_import_the_planner(name):
    assert PLANNER not in _loaded(name)
