"""The prereqs role's virtualenv, and the wheels it lacks, in one run of the host's python3.

argv: VENV WHEEL_DIR NAME==VERSION...  Creates VENV (system site packages, for python3-apt) when
it is not there, without pip: ensurepip installs and byte-compiles pip and setuptools, which took
three minutes a host under QEMU emulation, and nothing here needs pip in the virtualenv. The
wheels (WHEEL_DIR/NAME-VERSION-py3-none-any.whl) are then installed by pip run from the wheel of
pip that the host's Python carries for ensurepip (Debian: python3-pip-whl, a dependency of
python3-venv), all of them in one pip run.
Standard library only.
"""
import glob
import os
import subprocess
import sys
import sysconfig

venv, wheel_dir, pins = sys.argv[1], sys.argv[2], sys.argv[3:]
wheels = [os.path.join(wheel_dir, "%s-%s-py3-none-any.whl" % tuple(pin.split("=="))) for pin in pins]
python = os.path.join(venv, "bin", "python")
if not os.access(python, os.X_OK):
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", venv], check=True)

# Where ensurepip finds its pip: Debian's shared wheel directory, or CPython's bundled copy.
places = ["/usr/share/python-wheels", os.path.join(sysconfig.get_paths()["stdlib"], "ensurepip", "_bundled")]
found = sorted(path for place in places for path in glob.glob(os.path.join(place, "pip-*.whl")))
if not found:
    sys.exit("no wheel of pip for ensurepip under %s: install python3-venv" % " or ".join(places))
subprocess.run([python, os.path.join(found[-1], "pip"), "install", "--quiet", "--no-index", "--no-deps",
                "--disable-pip-version-check"] + wheels, check=True)
