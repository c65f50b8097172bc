"""The programs a module deploys (the restore at boot, the live agent): found from their sources, complete."""

import ast
import glob
import os
import subprocess
import sys

import pytest

from ansible_collections.swarmnet.overlay.plugins.module_utils.host import deploy, live, restore

PLUGINS = os.path.join(os.path.dirname(deploy.__file__), "..", "..")
PROGRAMS = [restore.PROGRAM, live.AGENT_PROGRAM]


def _imports_by_ast(source):
    found = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(deploy.PACKAGE):
            found.setdefault(node.module, set()).update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            assert not [a.name for a in node.names if a.name.startswith(deploy.PACKAGE)], \
                "import %s: the collection imports its module_utils as `from X import a` only" % node.names[0].name
    return found


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(PLUGINS, "**", "*.py"), recursive=True)),
                         ids=lambda path: os.path.relpath(path, PLUGINS))
def test_every_file_imports_the_collection_as_the_program_finder_reads_it(path):
    with open(path) as f:
        source = f.read()
    assert deploy.imported(source) == _imports_by_ast(source)


def test_parenthesised_aliased_and_commented_imports_are_read():
    source = ("from %s.kernel import (\n    links,  # a comment\n    netns as ns,\n)\n"
              "from %s.reconcile import Changes\n"
              "from %s.plan import esp, \\\n    lb\n" % (deploy.PACKAGE, deploy.PACKAGE, deploy.PACKAGE))
    assert deploy.imported(source) == {deploy.PACKAGE + ".kernel": {"links", "netns"},
                                       deploy.PACKAGE + ".reconcile": {"Changes"},
                                       deploy.PACKAGE + ".plan": {"esp", "lb"}}


def _deployed(tmp_path, program):
    for path, text in deploy.program_files(program).items():
        target = tmp_path / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return str(tmp_path / deploy.LIB_DIR.lstrip("/"))


@pytest.mark.parametrize("program", PROGRAMS)
def test_a_program_imports_from_its_deployed_files_alone(tmp_path, program):
    """Imported in a clean interpreter, every module of the collection it loads is one deployed."""
    lib = _deployed(tmp_path, program)
    package, name = program.rsplit(".", 1)
    check = subprocess.run(
        [sys.executable, "-I", "-c", "import sys; sys.path.insert(0, %r); from %s import %s; "
         "print('\\n'.join(m.__file__ for n, m in sys.modules.items() if n.startswith(%r)))"
         % (lib, package, name, deploy.PACKAGE)],
        capture_output=True, text=True, check=False, env={"PATH": os.environ.get("PATH", "")})
    assert check.returncode == 0, check.stderr
    loaded = check.stdout.split()
    assert loaded and [path for path in loaded if not path.startswith(lib)] == []


@pytest.mark.parametrize("program", PROGRAMS)
def test_finding_a_program_imports_none_of_it(program):
    """What restore_point and live_agent pay for: the programs' files are read, not run (no pyroute2)."""
    check = subprocess.run(
        [sys.executable, "-c", "import sys; from %s import deploy; files = deploy.program_files(%r); "
         "print(len(files), %r in sys.modules, 'pyroute2' in sys.modules)"
         % (deploy.__name__.rsplit(".", 1)[0], program, program)],
        capture_output=True, text=True, check=False, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert check.returncode == 0, check.stderr
    count, program_loaded, pyroute2_loaded = check.stdout.split()
    assert int(count) > 10 and program_loaded == "False" and pyroute2_loaded == "False"


def test_a_program_that_imports_what_is_not_there_is_named():
    with pytest.raises(ImportError, match="nothing_here"):
        deploy.program_files(deploy.PACKAGE + ".host.nothing_here")


@pytest.mark.parametrize("module, program", [("restore_point", restore.PROGRAM), ("live_agent", live.AGENT_PROGRAM)])
def test_the_module_that_deploys_a_program_carries_it(module, program):
    """Ansible packs what a module imports, followed the same way; the module does not run the
    program's imports, but must name them (under TYPE_CHECKING), or the program is not there to deploy."""
    carried = deploy.program_files(deploy.PACKAGE.rsplit(".", 1)[0] + ".modules." + module)
    assert set(deploy.program_files(program)) - set(carried) == set()
