"""Time to program 10 000 backends across 1 000 services with the nftables backend.

ipvs_service's path (render the table, compare in nft's normal form, replace it in
one transaction) against one rule per `nft` call (each service's chain, its DNAT
rule, its mark and its dispatch entry added one command at a time). Runs in a
private network namespace (re-executes itself under `unshare --net`).
Run as root: python3 bench/lb_program.py [--services N] [--backends M]
"""

import argparse
import ipaddress
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "collections"))

from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import lb_nftables, nftables  # noqa: E402
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import lb  # noqa: E402
from ansible_collections.swarmnet.overlay.plugins.module_utils.reconcile import Changes  # noqa: E402

TABLE = "swarmnet_lb"


def services(count, backends):
    first = int(ipaddress.IPv4Address("10.1.0.1"))
    out = []
    for i in range(count):
        out.append({"fwmark": 0x100 + i, "vip": "10.200.%d.%d" % divmod(i, 250),
                    "backends": [{"address": str(ipaddress.IPv4Address(first + i * backends + j))}
                                 for j in range(backends)]})
    return lb.normalise(out, "nftables")


def with_module_path(svcs):
    """What ipvs_service does: render, compare with the live table, replace in one transaction."""
    start = time.perf_counter()
    changes = Changes(False)
    body = lb_nftables.render(TABLE, svcs)
    if nftables.differs("ip", TABLE, body):
        changes("replace", nftables.replace, "ip", TABLE, body)
    return time.perf_counter() - start


def with_one_rule_per_call(svcs):
    start = time.perf_counter()
    empty = lb_nftables.render(TABLE, [])
    nftables.replace("ip", TABLE, empty)
    for svc in svcs:
        chain = "svc_%x" % svc["fwmark"]
        slots = ", ".join("%d : %s" % (i, d["address"]) for i, d in enumerate(svc["backends"]))
        for cmd in (["add", "chain", "ip", TABLE, chain],
                    ["add", "rule", "ip", TABLE, chain, "dnat", "to", "numgen", "inc", "mod",
                     str(len(svc["backends"])), "map", "{ %s }" % slots],
                    ["add", "element", "ip", TABLE, "vip_marks", "{ %s : %#x }" % (svc["vip"], svc["fwmark"])],
                    ["add", "rule", "ip", TABLE, "nat_output", "meta", "mark", "%#x" % svc["fwmark"],
                     "goto", chain]):
            subprocess.run(["nft"] + cmd, check=True)
    return time.perf_counter() - start


def main():
    if os.environ.get("SWARMNET_BENCH_NETNS") != "1":
        os.execvpe("unshare", ["unshare", "--net", "--", sys.executable] + sys.argv,
                   dict(os.environ, SWARMNET_BENCH_NETNS="1"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--backends", type=int, default=10)
    args = parser.parse_args()
    svcs = services(args.services, args.backends)
    results = {}
    for name, fn in (("ipvs_service (one transaction)", with_module_path),
                     ("one rule per nft call", with_one_rule_per_call)):
        if nftables.exists("ip", TABLE):
            nftables.delete("ip", TABLE)
        results[name] = fn(svcs)
    with_module_path(svcs)
    again = with_module_path(svcs)       # unchanged: compare only
    svcs[0]["backends"].append({"address": "10.254.0.1", "weight": 1})
    one_more = with_module_path(svcs)    # one backend added: compare, then replace
    base = results["one rule per nft call"]
    print("%d services x %d backends = %d backends, nftables backend"
          % (args.services, args.backends, args.services * args.backends))
    print("| method | seconds | speed-up vs one rule per call |")
    print("|---|---:|---:|")
    for name, seconds in results.items():
        print("| %s | %.3f | %.1fx |" % (name, seconds, base / seconds))
    print("| ipvs_service on the programmed table, nothing to change (compare only) | %.3f | |" % again)
    print("| ipvs_service on the programmed table, one backend added | %.3f | |" % one_more)


if __name__ == "__main__":
    main()
