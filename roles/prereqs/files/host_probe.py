"""What a host already has, for the prereqs role, in one run (raw: no module, no Python of Ansible's).

argv: VENV PACKAGE... -- WHEEL==VERSION...  Prints JSON: installed (those of the packages dpkg has
installed), systemd (PID 1 is systemd), serf_unit_on (Debian's serf.service is active or enabled),
venv (the virtualenv's Python is there), lacking (the wheels the virtualenv lacks or has at
another version; all of them without a virtualenv) and bytecode_cache (the SHA-256 of the
virtualenv's swarmnet_bytecode_cache.py where its .pth line is there too, else null).
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
venv_has = {"lacking": [w.split("==")[0] for w in wheels], "bytecode_cache": None}
if have:
    check = ("import hashlib, importlib.metadata as m, json, os, sys, sysconfig\n"
             "def lacks(name, version):\n"
             "    try:\n"
             "        return m.version(name) != version\n"
             "    except m.PackageNotFoundError:\n"
             "        return True\n"
             "def cache_hook(purelib):\n"
             "    try:\n"
             "        with open(os.path.join(purelib, 'swarmnet_bytecode_cache.py'), 'rb') as f:\n"
             "            digest = hashlib.sha256(f.read()).hexdigest()\n"
             "        return digest if os.path.exists(os.path.join(purelib, 'swarmnet_bytecode_cache.pth')) else None\n"
             "    except OSError:\n"
             "        return None\n"
             "print(json.dumps({'lacking': [w.split('==')[0] for w in sys.argv[1:] if lacks(*w.split('=='))],\n"
             "                  'bytecode_cache': cache_hook(sysconfig.get_paths()['purelib'])}))\n")
    venv_has = json.loads(subprocess.run([python, "-c", check] + wheels, capture_output=True, text=True,
                                         check=True).stdout)
systemd = os.path.isdir("/run/systemd/system")
serf_unit_on = systemd and any(
    subprocess.run(["systemctl", "--quiet", verb, "serf.service"], check=False).returncode == 0
    for verb in ("is-active", "is-enabled"))
print(json.dumps({"installed": [line.split()[0] for line in listed if line.endswith(" installed")],
                  "systemd": systemd, "serf_unit_on": serf_unit_on, "venv": have, **venv_has}))
