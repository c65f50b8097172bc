"""Time to program 1000 VXLAN peers on one host: vxlan_peer's batch vs one subprocess per entry.

Both sides do the same work: for every peer a permanent FDB entry (MAC -> VTEP) and a
permanent neighbour entry (IP -> MAC) on a VXLAN device in a scratch namespace.
The vxlan_peer side is the module's own code path (read, diff, one batch of netlink
messages); the other side runs `bridge fdb append` and `ip neigh replace` per entry.
Prints one table with the ratio. Run as root: python3 bench/peers.py [--peers N]
"""

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "collections"))

from pyroute2 import IPRoute, netns  # noqa: E402

from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import peers  # noqa: E402

NS = "swarmnet-bench-peers"
DEV = "vx-bench"


def make_peers(count):
    out = []
    for i in range(count):
        a, b = divmod(i + 2, 250)
        out.append({"ip": "10.77.%d.%d" % (a, b + 1), "mac": "02:42:0a:4d:%02x:%02x" % (a, b + 1),
                    "vtep": "198.18.1.%d" % (i % 200 + 1)})
    return out


def fresh_device():
    if NS in netns.listnetns():
        netns.remove(NS)
    netns.create(NS)
    with IPRoute(netns=NS, flags=0) as ipr:
        ipr.link("add", ifname=DEV, kind="vxlan", vxlan_id=4242, vxlan_port=4789,
                 vxlan_learning=0, vxlan_proxy=1)
        index = ipr.link_lookup(ifname=DEV)[0]
        ipr.link("set", index=index, state="up")
    return index


def count_entries():
    with IPRoute(netns=NS, flags=0) as ipr:
        index = ipr.link_lookup(ifname=DEV)[0]
        neigh, fdb = peers.read(ipr, index)
    return len(neigh), len(fdb)


def with_vxlan_peer(entries):
    index = fresh_device()
    start = time.perf_counter()
    with IPRoute(netns=NS, flags=0) as ipr:
        changes = peers.diff(peers.read(ipr, index), peers.desired(entries))
        peers.apply(ipr, index, changes)
    return time.perf_counter() - start


def with_subprocesses(entries):
    fresh_device()
    start = time.perf_counter()
    for p in entries:
        subprocess.run(["bridge", "-n", NS, "fdb", "append", p["mac"], "dev", DEV, "dst", p["vtep"],
                        "self", "permanent"], check=True)
        subprocess.run(["ip", "-n", NS, "neigh", "replace", p["ip"], "lladdr", p["mac"], "dev", DEV,
                        "nud", "permanent"], check=True)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    entries = make_peers(args.peers)
    results = {}
    try:
        for name, fn in (("vxlan_peer (one netlink batch)", with_vxlan_peer),
                         ("per-entry subprocesses", with_subprocesses)):
            times = []
            for _run in range(args.runs):
                times.append(fn(entries))
                assert count_entries() == (args.peers, args.peers), count_entries()
            results[name] = sorted(times)[len(times) // 2]
    finally:
        if NS in netns.listnetns():
            netns.remove(NS)
    base = results["per-entry subprocesses"]
    print("%d peers (= %d FDB + %d neighbour entries), median of %d runs"
          % (args.peers, args.peers, args.peers, args.runs))
    print("| method | seconds | speed-up vs subprocesses |")
    print("|---|---:|---:|")
    for name, seconds in results.items():
        print("| %s | %.4f | %.1fx |" % (name, seconds, base / seconds))


if __name__ == "__main__":
    main()
