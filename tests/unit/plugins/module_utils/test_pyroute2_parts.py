"""pyroute2's version read without importing the library, and the clear failure of a module without it."""

import subprocess
import sys

import pytest

from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import pyroute2_parts


class Failed(Exception):
    pass


class Module:
    """What require() calls of an AnsibleModule: fail_json, which never returns."""

    def fail_json(self, **result):
        raise Failed(result)


def test_the_installed_version_is_read_without_the_library():
    check = subprocess.run(
        [sys.executable, "-c", "import sys; from %s import pyroute2_parts as p; v = p.installed_version(); "
         "print(v, 'pyroute2.iproute' in sys.modules)" % pyroute2_parts.__name__.rsplit(".", 1)[0]],
        capture_output=True, text=True, check=False, env={"PYTHONPATH": ":".join(sys.path)})
    assert check.returncode == 0, check.stderr
    version, iproute_loaded = check.stdout.split()
    assert version.count(".") >= 1 and iproute_loaded == "False"


def test_a_new_enough_version_passes():
    pyroute2_parts.require(Module(), "0.9.7")
    pyroute2_parts.require(Module(), "1.0")


def test_an_old_version_is_named_with_the_minimum():
    with pytest.raises(Failed, match=r"pyroute2 0\.7\.12 on this host is too old: swarmnet.overlay needs >= 0\.9"):
        pyroute2_parts.require(Module(), "0.7.12")


def test_a_missing_library_says_what_to_run_and_keeps_the_import_error():
    with pytest.raises(Failed) as failed:
        pyroute2_parts.require(Module(), None, "Traceback: ImportError")
    result = failed.value.args[0]
    assert "pyroute2>=0.9" in result["msg"] and "prereqs role" in result["msg"]
    assert result["exception"] == "Traceback: ImportError"
