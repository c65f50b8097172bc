"""Test helper: take from a lab host what a reboot takes, keeping its files.

A lab host is namespaces on the test machine, so it cannot really reboot. This kills
the swarmnet supervisor with every process it started (its session), and every process
left in a named network namespace, deletes every named namespace (with the links in
them), the gateway bridge, every nftables table, and turns forwarding off - as on a
freshly booted kernel. Files (state, units, the restore program) stay, as on a disk.
Prints what it took, as JSON.
"""
import json
import os
import signal
import subprocess
import sys

from pyroute2 import IPRoute, netns

STATE_DIR = sys.argv[1] if len(sys.argv) > 1 else "/var/lib/swarmnet"
GWBRIDGE = "swarmnet_gwbr"


def netns_inode(path):
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def pids_in(inodes):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and netns_inode("/proc/%s/ns/net" % entry) in inodes:
            found.append(int(entry))
    return found


taken = {"processes": 0, "namespaces": [], "links": [], "nft": ""}
try:
    with open(os.path.join(STATE_DIR, "supervisor.pid")) as f:
        supervisor = int(f.read())
    os.killpg(os.getpgid(supervisor), signal.SIGKILL)
    taken["processes"] += 1
except (OSError, ValueError):
    pass
# Tasks run in sessions of their own; the resolver runs in the host namespace.
for name in os.listdir(os.path.join(STATE_DIR, "tasks")):
    if name.endswith(".status"):
        with open(os.path.join(STATE_DIR, "tasks", name)) as f:
            pid = json.load(f).get("pid")
        try:
            os.killpg(os.getpgid(pid), signal.SIGKILL)
            taken["processes"] += 1
        except (OSError, TypeError):
            pass
names = sorted(os.listdir("/run/netns"))
for pid in pids_in({netns_inode("/run/netns/" + n) for n in names}):
    os.kill(pid, signal.SIGKILL)
    taken["processes"] += 1
for name in names:
    netns.remove(name)
    taken["namespaces"].append(name)
with IPRoute() as ipr:
    for index in ipr.link_lookup(ifname=GWBRIDGE):
        ipr.link("del", index=index)
        taken["links"].append(GWBRIDGE)
taken["nft"] = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, check=True).stdout
subprocess.run(["nft", "flush", "ruleset"], check=True)
with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
    f.write("0")
print(json.dumps(taken))
