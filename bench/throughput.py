"""Overlay vs underlay TCP throughput between two lab hosts (iperf3), side by side.

Needs the converged lab (`make lab`): task-a on h1 and task-b on h2 share the
frontend network. Underlay: h1 -> h2 host namespaces. Overlay: task-a -> task-b
over VXLAN. Runs alternate so every row sees the same machine load; prints medians
and ratios.

--lever NAME (repeatable, or `all`) adds rows with one data-path setting changed
(bench/levers.py), both paths measured with it and the lab put back after each run.
--shape RATE shapes the underlay into h2 (tbf on the lab bridge's port) for the whole run:
a link-bound figure to set beside the header limit (1450 - 40) / (1500 - 40).
Also prints the ping round trip of both paths. Run as root:
python3 bench/throughput.py [--runs N] [--seconds S] [--lever NAME ...] [--shape 5gbit]
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import time

import levers
from levers import in_host

COLLECTIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "collections")
BRIDGE_PORT_H2 = "swlab-h2"      # the lab bridge's veth to h2, in this namespace (lab_hosts)
UNDERLAY = {"h2": "198.18.0.12"}


def endpoint_ip(host, sandbox, network):
    """The sandbox's address on a network, from the collection's info module output."""
    out = subprocess.run(in_host(host, ["/opt/swarmnet/venv/bin/python", "-c",
                                        "import json;from ansible_collections.swarmnet.overlay.plugins."
                                        "module_utils.host import inspect;print(json.dumps(inspect.host_state()))"]),
                         capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": COLLECTIONS}).stdout
    for ep in json.loads(out)["endpoints"]:
        if ep["sandbox"] == sandbox and ep["network"] == network:
            return ep["ip"]
    raise SystemExit("no %s endpoint of %s on %s: run `make lab` first" % (network, sandbox, host))


def iperf(server_cmd, client_cmd, seconds):
    server = subprocess.Popen(server_cmd + ["iperf3", "-s", "-1", "-p", "5301"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        out = subprocess.run(client_cmd + ["-p", "5301", "-t", str(seconds), "-J"],
                             capture_output=True, text=True, check=True).stdout
    finally:
        server.wait(timeout=30)
    return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e9


def measure(target, seconds):
    """(underlay, overlay) Gbit/s of one run each."""
    return (iperf(in_host("h2", []), in_host("h1", ["iperf3", "-c", UNDERLAY["h2"]]), seconds),
            iperf(in_host("h2", [], "task-b"), in_host("h1", ["iperf3", "-c", target], "task-a"), seconds))


def ping(argv):
    """Average round trip in microseconds of 200 pings 10 ms apart."""
    out = subprocess.run(argv + ["-c", "200", "-i", "0.01", "-q"], capture_output=True, text=True, check=True).stdout
    return float(out.rsplit("=", 1)[1].split("/")[1]) * 1000


def shaped(rate):
    """Shape what the lab bridge sends to h2 (its underlay); returns the undo command."""
    subprocess.run(["tc", "qdisc", "replace", "dev", BRIDGE_PORT_H2, "root", "tbf", "rate", rate, "burst", "512kb",
                    "latency", "20ms"], check=True)
    return ["tc", "qdisc", "del", "dev", BRIDGE_PORT_H2, "root"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--lever", action="append", default=[], choices=sorted(levers.LEVERS) + ["all"])
    parser.add_argument("--shape", help="tbf rate on the underlay into h2, e.g. 5gbit")
    args = parser.parse_args()
    chosen = sorted(levers.LEVERS) if "all" in args.lever else args.lever
    target = endpoint_ip("h2", "task-b", "frontend")
    unshape = shaped(args.shape) if args.shape else None
    results = {name: ([], []) for name in ["as it is"] + chosen}
    try:
        for _run in range(args.runs):
            # A new order each run: no setting always follows the same one (what a lever leaves
            # behind in caches or queues, the lab's own drift through a run).
            for name in random.sample(list(results), len(results)):
                undo = levers.LEVERS[name][1]() if name in levers.LEVERS else []
                try:
                    under, over = measure(target, args.seconds)
                finally:
                    levers.undo_all(undo)
                results[name][0].append(under)
                results[name][1].append(over)
        latency = (ping(in_host("h1", ["ping", UNDERLAY["h2"]])), ping(in_host("h1", ["ping", target], "task-a")))
    finally:
        if unshape:
            subprocess.run(unshape, check=True)
    print("iperf3 TCP, %d runs of %d s each, alternating, the settings in a new order each run%s"
          % (args.runs, args.seconds, "; underlay into h2 shaped to %s (tbf)" % args.shape if args.shape else ""))
    print("| setting | underlay Gbit/s | overlay Gbit/s | overlay runs | overlay / underlay | overlay / as it is |")
    print("|---|---:|---:|---|---:|---:|")
    base = statistics.median(results["as it is"][1])
    for name, (under, over) in results.items():
        what = levers.LEVERS[name][0] if name in levers.LEVERS else name
        print("| %s | %.2f | %.2f | %s | %.3f | %.2f |" % (
            what, statistics.median(under), statistics.median(over), " ".join("%.1f" % r for r in over),
            statistics.median(over) / statistics.median(under), statistics.median(over) / base))
    if args.shape:
        print("header limit (1450 - 40) / (1500 - 40) = %.3f" % ((1450 - 40) / (1500 - 40)))
    print("ping, 200 round trips: underlay %.0f us, overlay %.0f us, overlay - underlay %.0f us"
          % (latency[0], latency[1], latency[1] - latency[0]))


if __name__ == "__main__":
    main()
