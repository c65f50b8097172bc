"""Overlay vs underlay TCP throughput between two lab hosts (iperf3), side by side.

Needs the converged lab (`make lab`): task-a on h1 and task-b on h2 share the
frontend network. Underlay: h1 -> h2 host namespaces. Overlay: task-a -> task-b
over VXLAN. Runs alternate so both see the same machine load; prints medians and
the ratio. Run as root: python3 bench/throughput.py [--runs N] [--seconds S]
"""

import argparse
import json
import os
import statistics
import subprocess
import time

LAB = "/run/swarmnet-lab"
COLLECTIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "collections")
HOSTS = {"h1": "swlab-h1", "h2": "swlab-h2"}
UNDERLAY = {"h2": "198.18.0.12"}


def in_host(host, argv, sandbox=None):
    ns = HOSTS[host]
    prefix = ["nsenter", "--mount=%s/%s.mnt" % (LAB, ns), "--net=/run/netns/%s" % ns]
    if sandbox:
        prefix += ["ip", "netns", "exec", sandbox]
    return prefix + argv


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=4)
    args = parser.parse_args()
    target = endpoint_ip("h2", "task-b", "frontend")
    results = {"underlay (h1 -> h2)": [], "overlay (task-a -> task-b, frontend)": []}
    for _run in range(args.runs):
        results["underlay (h1 -> h2)"].append(iperf(
            in_host("h2", []), in_host("h1", ["iperf3", "-c", UNDERLAY["h2"]]), args.seconds))
        results["overlay (task-a -> task-b, frontend)"].append(iperf(
            in_host("h2", [], "task-b"), in_host("h1", ["iperf3", "-c", target], "task-a"), args.seconds))
    base = statistics.median(results["underlay (h1 -> h2)"])
    print("iperf3 TCP, %d runs of %d s each, alternating" % (args.runs, args.seconds))
    print("| path | median Gbit/s | runs | ratio to underlay |")
    print("|---|---:|---|---:|")
    for name, runs in results.items():
        median = statistics.median(runs)
        each = " ".join("%.1f" % r for r in runs)
        print("| %s | %.2f | %s | %.2f |" % (name, median, each, median / base))


if __name__ == "__main__":
    main()
