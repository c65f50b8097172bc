"""Modules that program no kernel object import no netlink library: under an emulated CPU
pyroute2's import alone takes 1.7-2.7 s of every module run (docs/DESIGN-NOTES.md)."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTIONS = os.path.join(ROOT, "build", "collections")
FILE_ONLY = ["cluster_plan", "live_wait", "task_hold", "service_task", "service_registry", "svc_dns"]


@pytest.mark.parametrize("name", FILE_ONLY)
def test_a_module_that_only_reads_and_writes_files_does_not_import_pyroute2(name):
    code = ("import importlib, sys; importlib.import_module('ansible_collections.swarmnet.overlay.plugins.modules.%s');"
            " print(sorted({m.split('.')[0] for m in sys.modules if m.startswith('pyroute2')}))" % name)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env=dict(os.environ, PYTHONPATH=COLLECTIONS))
    assert done.stdout.strip() == "[]"
