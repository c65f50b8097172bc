"""roles/prereqs/files/swarmnet_bytecode_cache.py: what a module run imports from its payload zip is
compiled once and read back while its source stays the same byte for byte.

Each run is a new Python process importing from a new zip, as Ansible's module runs do; a run that
must not compile has compile() replaced by one that fails.
"""

import marshal
import os
import subprocess
import sys
import zipfile

HOOK_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "roles", "prereqs", "files")

RUN = """
import builtins, sys
sys.path.insert(0, {hook_dir!r})
import swarmnet_bytecode_cache
swarmnet_bytecode_cache.install({cache!r})
if {no_compile!r}:
    def refuse(*args, **kwargs):
        raise AssertionError("compiled " + str(args[1]))
    builtins.compile = refuse
sys.path.insert(0, {payload!r})
import pkg.mod
print(pkg.mod.VALUE, pkg.mod.__file__)
try:
    pkg.mod.fail()
except ZeroDivisionError as exc:
    print(exc.__traceback__.tb_next.tb_frame.f_code.co_filename)
"""


def payload(tmp_path, name, value):
    """A zip as Ansible sends one: a package and a module in it."""
    path = tmp_path / name / "payload.zip"
    path.parent.mkdir()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("pkg/__init__.py", "")
        z.writestr("pkg/mod.py", "VALUE = %r\n\ndef fail():\n    return 1 / 0\n" % value)
    return str(path)


def attempt(tmp_path, zip_path, cache, no_compile=False, python_flags=()):
    script = RUN.format(hook_dir=os.path.abspath(HOOK_DIR), cache=cache, no_compile=no_compile, payload=zip_path)
    return subprocess.run([sys.executable] + list(python_flags) + ["-c", script], capture_output=True, text=True,
                          cwd=str(tmp_path), check=False)


def run(tmp_path, zip_path, cache, no_compile=False):
    """The module's VALUE, its __file__ and the file its traceback names."""
    proc = attempt(tmp_path, zip_path, cache, no_compile)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def compiled(tmp_path, zip_path, cache, python_flags=()):
    """What a run that must not compile compiled (None: nothing)."""
    proc = attempt(tmp_path, zip_path, cache, no_compile=True, python_flags=python_flags)
    return None if proc.returncode == 0 else proc.stderr.strip().splitlines()[-1]


def test_the_second_run_reads_what_the_first_compiled_and_names_its_own_zip(tmp_path):
    cache = str(tmp_path / "cache")
    first = payload(tmp_path, "run1", 1)
    assert run(tmp_path, first, cache) == ["1", first + "/pkg/mod.py", first + "/pkg/mod.py"]
    assert sorted(os.listdir(cache)) == ["pkg", "pkg.mod"]

    second = payload(tmp_path, "run2", 1)
    assert compiled(tmp_path, second, cache) is None
    assert run(tmp_path, second, cache, no_compile=True) == ["1", second + "/pkg/mod.py", second + "/pkg/mod.py"]


def test_a_changed_source_is_compiled_again_and_replaces_what_was_kept(tmp_path):
    cache = str(tmp_path / "cache")
    run(tmp_path, payload(tmp_path, "run1", 1), cache)
    changed = payload(tmp_path, "run2", 2)
    assert compiled(tmp_path, changed, cache) == "AssertionError: compiled %s/pkg/mod.py" % changed
    assert run(tmp_path, payload(tmp_path, "run3", 2), cache)[0] == "2"
    assert run(tmp_path, payload(tmp_path, "run4", 2), cache, no_compile=True)[0] == "2"


def test_code_kept_by_another_python_is_not_used(tmp_path):
    cache = tmp_path / "cache"
    run(tmp_path, payload(tmp_path, "run1", 1), str(cache))
    (_magic, optimize), source, code = marshal.loads((cache / "pkg.mod").read_bytes())
    (cache / "pkg.mod").write_bytes(marshal.dumps(((b"\x00\x00\r\n", optimize), source, code)))
    same = payload(tmp_path, "run2", 1)
    assert compiled(tmp_path, same, str(cache)) == "AssertionError: compiled %s/pkg/mod.py" % same


def test_code_kept_without_optimisation_is_not_used_by_a_python_run_with_it(tmp_path):
    cache = str(tmp_path / "cache")
    run(tmp_path, payload(tmp_path, "run1", 1), cache)
    optimised = payload(tmp_path, "run2", 1)
    assert compiled(tmp_path, optimised, cache, python_flags=["-O"]) == \
        "AssertionError: compiled %s/pkg/__init__.py" % optimised      # the first it imports


def test_where_the_cache_cannot_be_written_a_run_still_imports(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    assert run(tmp_path, payload(tmp_path, "run1", 7), str(blocked / "cache"))[0] == "7"
    assert blocked.read_text() == ""
