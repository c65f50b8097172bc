"""Shared by the kernel tests: running a module file as Ansible does."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTIONS = os.path.join(ROOT, "build", "collections")


@pytest.fixture
def run_module(tmp_path):
    """run_module(NAME, check=False, **args): the module's JSON result, its arguments in a JSON file as Ansible
    gives them."""
    return lambda name, check=False, **args: _run(name, tmp_path, check, args)


def _run(name, args_dir, check, args):
    path = os.path.join(str(args_dir), "args.json")
    with open(path, "w") as f:
        json.dump({"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=check)}, f)
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "plugins", "modules", name + ".py"), path],
                          capture_output=True, text=True, check=False,
                          env=dict(os.environ, PYTHONPATH=COLLECTIONS))   # a failing module exits 1
    return json.loads(proc.stdout)
