"""Test helper: a Serf agent of someone else's, started in the background; prints its pid.

usage: [ROGUE_SERF_KEY=KEY_HEX] rogue_serf.py DIR NAME BIND_ADDR:PORT RPC_ADDR:PORT
Its configuration (with the key, if one is given, 0600) and log go to DIR.
"""
import base64
import json
import os
import subprocess
import sys

directory, name, bind, rpc = sys.argv[1:5]
config = {"node_name": name, "bind": bind, "rpc_addr": rpc, "log_level": "info"}
if os.environ.get("ROGUE_SERF_KEY"):
    config["encrypt_key"] = base64.b64encode(bytes.fromhex(os.environ["ROGUE_SERF_KEY"])).decode()
os.makedirs(directory, exist_ok=True)
path = os.path.join(directory, name + ".json")
with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
    json.dump(config, f)
with open(os.path.join(directory, name + ".log"), "w") as log:
    proc = subprocess.Popen(["serf", "agent", "-config-file", path], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
print(proc.pid)
