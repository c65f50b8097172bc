"""The prereqs role's virtualenv, and the wheels and bytecode cache it lacks, in one run of python3.

argv: VENV NAME==VERSION...; stdin: a JSON object, wheels: NAME==VERSION to the wheel's bytes in base64
(the wheels travel inside this one command run: a copy module run per wheel cost a VM half a minute),
bytecode_cache: the text of swarmnet_bytecode_cache.py, put into site-packages with the .pth line
that installs it in every start of the virtualenv's Python.
Creates VENV (system site packages, for python3-apt) when it is not there, without pip, and
installs each wheel into it: a pure wheel (PEP 427: Root-Is-Purelib, no .data directory) is a
zip whose contents go into site-packages as they are, so it is unpacked there, after what an
earlier version of the same distribution left (its packages and its .dist-info) is removed. Under QEMU emulation
ensurepip spent three minutes a host byte-compiling pip and setuptools into the virtualenv, and
pip, run from its wheel, a minute and a half more compiling itself; nothing here needs pip.
Standard library only.
"""
import base64
import glob
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile

venv, pins = sys.argv[1], sys.argv[2:]
given = json.load(sys.stdin)
wheels = given["wheels"]
python = os.path.join(venv, "bin", "python")
if not os.access(python, os.X_OK):
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", venv], check=True)
purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True).stdout.strip()
for pin in pins:
    name, version = pin.split("==")
    path = "%s-%s-py3-none-any.whl" % (name, version)
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(wheels[pin]))) as wheel:
        tops = {entry.split("/")[0] for entry in wheel.namelist()}
        info = "%s-%s.dist-info" % (name.replace("-", "_"), version)
        if info not in tops or "Root-Is-Purelib: true" not in wheel.read(info + "/WHEEL").decode() \
                or any(top.endswith(".data") for top in tops):
            sys.exit("%s: not a pure-Python wheel of %s %s" % (path, name, version))
        earlier = glob.glob(os.path.join(purelib, "%s-*.dist-info" % name.replace("-", "_")))
        for old in earlier + [os.path.join(purelib, top) for top in tops if not top.endswith(".dist-info")]:
            if os.path.isdir(old):
                shutil.rmtree(old)
            elif os.path.exists(old):
                os.unlink(old)
        wheel.extractall(purelib)
    with open(os.path.join(purelib, info, "INSTALLER"), "w") as marker:
        marker.write("swarmnet.overlay prereqs\n")
    # Byte-compiled once here, as pip does: a module run where PYTHONDONTWRITEBYTECODE is set (the
    # work machines set it) would otherwise compile what it imports on every run.
    packages = [os.path.join(purelib, top) for top in sorted(tops) if not top.endswith(".dist-info")]
    subprocess.run([python, "-m", "compileall", "-q"] + packages, check=True)


def replace_file(path, text):
    """Whole or not at all: the virtualenv's Python may start meanwhile (the live agent's, a module's)."""
    with open(path + ".new", "w") as f:
        f.write(text)
    os.replace(path + ".new", path)


hook = os.path.join(purelib, "swarmnet_bytecode_cache.py")
replace_file(hook, given["bytecode_cache"])
subprocess.run([python, "-m", "py_compile", hook], check=True)
# The .pth last: a Python started meanwhile finds the module it imports.
replace_file(os.path.join(purelib, "swarmnet_bytecode_cache.pth"),
             "import swarmnet_bytecode_cache; swarmnet_bytecode_cache.install()\n")
