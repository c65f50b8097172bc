"""What a host already has, for the prereqs role, in one run (raw: no module, no Python of Ansible's).

argv: VENV PACKAGE... -- WHEEL==VERSION...  Prints JSON: installed (those of the packages dpkg has
installed), systemd (PID 1 is systemd), serf_unit_on (Debian's serf.service is active or enabled),
venv (the virtualenv's Python is there) and lacking (the wheels the virtualenv lacks or has at
another version; all of them without a virtualenv).
Standard library only; runs with the host's /usr/bin/python3.
"""
import json
import os
import subprocess
import sys

venv, rest = sys.argv[1], sys.argv[2:]
packages, wheels = rest[:rest.index("--")], rest[rest.index("--") + 1:]
try:
    listed = subprocess.run(["dpkg-query", "--show", "--showformat=${Package} ${db:Status-Status}\\n"] + packages,
                            capture_output=True, text=True, check=False).stdout.split("\n")
except OSError:         # no dpkg: every package is missing
    listed = []
python = os.path.join(venv, "bin", "python")
have = os.access(python, os.X_OK)
lacking = [w.split("==")[0] for w in wheels]
if have:
    check = ("import importlib.metadata as m, json, sys\n"
             "def lacks(name, version):\n"
             "    try:\n"
             "        return m.version(name) != version\n"
             "    except m.PackageNotFoundError:\n"
             "        return True\n"
             "print(json.dumps([w.split('==')[0] for w in sys.argv[1:] if lacks(*w.split('=='))]))\n")
    lacking = json.loads(subprocess.run([python, "-c", check] + wheels, capture_output=True, text=True,
                                        check=True).stdout)
systemd = os.path.isdir("/run/systemd/system")
serf_unit_on = systemd and any(
    subprocess.run(["systemctl", "--quiet", verb, "serf.service"], check=False).returncode == 0
    for verb in ("is-active", "is-enabled"))
print(json.dumps({"installed": [line.split()[0] for line in listed if line.endswith(" installed")],
                  "systemd": systemd, "serf_unit_on": serf_unit_on, "venv": have, "lacking": lacking}))
