"""Compiled code of what a module run imports from its payload zip, kept between runs.

Ansible sends each module run a zip of the module and the module_utils it imports, and Python
imports from a zip without bytecode: every run compiles everything again (Ansible's basic module
and its dependencies, then the collection's), and Python 3.11's zipimport compiles each module a
second time only to tell its file name. Under QEMU emulation that was seconds of every run.

The prereqs role puts this file and a .pth line calling install() into the collection's
virtualenv, so it acts only in the Python the collection's modules run with, and only on imports
from a zip. Each module's code is kept in DIR/NAME (DIR: the virtualenv's bytecode-cache) with the
Python magic number, the optimisation level (-O) and the source it came from; it is used only for
the same three, the source byte for byte, else compiled again and replaced. Any error falls back to zipimport's own loading.
Standard library only.
"""
import marshal
import os
import sys
import zipimport
from importlib._bootstrap_external import MAGIC_NUMBER   # frozen, already loaded: costs no import

CACHE_DIR = os.path.join(sys.prefix, "bytecode-cache")
COMPILED_BY = (MAGIC_NUMBER, sys.flags.optimize)     # what else makes code from the same source differ


def _with_filename(code, filename):
    """The code as if compiled from `filename` (this run's zip), for tracebacks and warnings."""
    consts = tuple(_with_filename(c, filename) if isinstance(c, type(code)) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


class CachingZipImporter(zipimport.zipimporter):
    cache_dir = CACHE_DIR

    def _source_path(self, fullname):
        base = os.path.join(self.archive, self.prefix, fullname.rpartition(".")[2])
        return os.path.join(base, "__init__.py") if self.is_package(fullname) else base + ".py"

    def get_filename(self, fullname):
        return self._source_path(fullname)

    def get_code(self, fullname):
        try:
            path = self._source_path(fullname)
            source = self.get_data(path).replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        except (OSError, zipimport.ZipImportError):     # no source in the zip (bytecode only): as zipimport does
            return super().get_code(fullname)
        kept = os.path.join(self.cache_dir, fullname)
        try:
            with open(kept, "rb") as f:
                compiled_by, kept_source, code = marshal.loads(f.read())
            if compiled_by == COMPILED_BY and kept_source == source:
                return _with_filename(code, path)
        except (OSError, ValueError, EOFError, TypeError):
            pass
        code = compile(source, path, "exec", dont_inherit=True)
        try:
            os.makedirs(self.cache_dir, mode=0o700, exist_ok=True)
            partial = "%s.%d" % (kept, os.getpid())
            with open(partial, "wb") as f:
                f.write(marshal.dumps((COMPILED_BY, source, code)))
            os.replace(partial, kept)                   # whole or not at all, whatever runs beside it
        except OSError:
            pass                                        # not writable here: this run compiles, as without the cache
        return code


def install(cache_dir=None):
    """Zip entries of sys.path imported through CachingZipImporter from now on."""
    if cache_dir is not None:
        CachingZipImporter.cache_dir = cache_dir
    sys.path_hooks[:] = [CachingZipImporter if hook is zipimport.zipimporter else hook for hook in sys.path_hooks]
    for entry, finder in list(sys.path_importer_cache.items()):
        if isinstance(finder, zipimport.zipimporter):
            del sys.path_importer_cache[entry]
