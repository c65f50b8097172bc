"""Queries/s and latency of the swarmnet resolver vs dnsmasq serving the same records.

No lab needed. Makes one network namespace (a sandbox) and starts in it, side by side:
  swarmnet   the resolver program (plugins/module_utils/host/dns_server.py) at 127.0.0.11:53,
             with SERVICES services of TASKS tasks each on one network
  dnsmasq    dnsmasq at 127.0.0.12:53 with the same names in a hosts file (NAME -> VIP,
             tasks.NAME -> each task), no upstream, the same TTL
then runs dnsperf from inside the sandbox against each, alternating, with the same query
file (every NAME and tasks.NAME, shuffled):
  saturated  as many queries as dnsperf keeps outstanding (-q 100): queries/s
  paced      a fixed rate both serve easily (-Q RATE): latency p50 / p99 of every query
Prints medians and the ratio swarmnet / dnsmasq (goal: >= 1.0 in queries/s).
Run as root: python3 bench/dns.py [--runs N] [--seconds S]
"""

import argparse
import ipaddress
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SERVER = os.path.join(ROOT, "plugins", "module_utils", "dns_server.py")
SANDBOX = "swbench-dns"
SWARMNET, DNSMASQ = "127.0.0.11", "127.0.0.12"
NETWORK = ipaddress.IPv4Network("10.77.0.0/16")
TTL = 5


def records(services, tasks):
    """The service registry the resolver serves, and the same names as a hosts file."""
    hosts = iter(NETWORK.hosts())
    registry, lines = [], []
    for i in range(services):
        name = "svc%03d" % i
        vip = str(next(hosts))
        task_ips = [str(next(hosts)) for _task in range(tasks)]
        registry.append({"name": name, "networks": ["bench"], "endpoint_mode": "vip", "vips": {"bench": vip},
                         "tasks": [{"name": "%s.%d" % (name, n + 1), "addresses": {"bench": ip}}
                                   for n, ip in enumerate(task_ips)]})
        lines.append("%s %s" % (vip, name))
        lines.extend("%s tasks.%s" % (ip, name) for ip in task_ips)
    return registry, "\n".join(lines) + "\n"


def in_sandbox(argv):
    return ["ip", "netns", "exec", SANDBOX] + argv


def wait_answering(address, name):
    for _attempt in range(100):
        probe = subprocess.run(in_sandbox(["dnsperf", "-s", address, "-n", "1", "-t", "1"]),
                               input="%s A\n" % name, capture_output=True, text=True, check=False)
        if "Queries completed:    1 " in probe.stdout:
            return
        time.sleep(0.1)
    sys.exit("no answer from %s" % address)


def dnsperf(address, queries, seconds, extra):
    out = subprocess.run(in_sandbox(["dnsperf", "-s", address, "-d", queries, "-l", str(seconds)] + extra),
                         capture_output=True, text=True, check=True).stdout
    summary = {}
    latencies = []
    for line in out.splitlines():
        words = line.split()
        if line.startswith("  Queries per second:"):
            summary["qps"] = float(words[-1])
        elif line.startswith("  Queries lost:"):
            summary["lost"] = int(words[2])
        elif line.startswith("  Response codes:"):
            summary["codes"] = line.split(":", 1)[1].strip()
        elif line.startswith("> NOERROR") or line.startswith("> NXDOMAIN") or line.startswith("> SERVFAIL"):
            latencies.append(float(words[-1]))     # -v: "> RCODE NAME TYPE SECONDS"
    if latencies:
        latencies.sort()
        summary["p50_ms"] = latencies[len(latencies) // 2] * 1000
        summary["p99_ms"] = latencies[int(len(latencies) * 0.99)] * 1000
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=3)
    parser.add_argument("--rate", type=int, default=2000, help="queries/s of the paced runs")
    args = parser.parse_args()
    for tool in ("dnsperf", "dnsmasq"):
        if shutil.which(tool) is None:
            sys.exit("%s is missing: apt-get install -y dnsperf dnsmasq-base" % tool)

    work = tempfile.mkdtemp(prefix="swarmnet-bench-dns-")
    registry, hosts_file = records(args.services, args.tasks)
    names = [s["name"] for s in registry] + ["tasks." + s["name"] for s in registry]
    random.Random(1).shuffle(names)
    queries = os.path.join(work, "queries")
    with open(queries, "w") as f:
        f.write("".join("%s A\n" % n for n in names))
    with open(os.path.join(work, "hosts"), "w") as f:
        f.write(hosts_file)
    with open(os.path.join(work, "dns.json"), "w") as f:
        json.dump({"sandboxes": {SANDBOX: ["bench"]}, "services": registry, "upstreams": [], "ttl": TTL}, f)

    procs = []
    subprocess.run(["ip", "netns", "add", SANDBOX], check=True)
    try:
        subprocess.run(["ip", "-n", SANDBOX, "link", "set", "lo", "up"], check=True)
        procs.append(subprocess.Popen([sys.executable, SERVER, work]))
        procs.append(subprocess.Popen(in_sandbox(
            ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--addn-hosts=" + os.path.join(work, "hosts"),
             "--listen-address=" + DNSMASQ, "--bind-interfaces", "--local-ttl=%d" % TTL, "--user=root",
             "--pid-file=" + os.path.join(work, "dnsmasq.pid"), "--cache-size=10000", "--log-facility=/dev/null"])))
        wait_answering(SWARMNET, names[0])
        wait_answering(DNSMASQ, names[0])

        results = {"swarmnet": {"qps": [], "p50_ms": [], "p99_ms": []},
                   "dnsmasq": {"qps": [], "p50_ms": [], "p99_ms": []}}
        for run in range(args.runs):
            for label, address in (("swarmnet", SWARMNET), ("dnsmasq", DNSMASQ)):
                saturated = dnsperf(address, queries, args.seconds, ["-q", "100"])
                paced = dnsperf(address, queries, args.seconds, ["-Q", str(args.rate), "-v"])
                for summary in (saturated, paced):
                    if summary.get("lost"):
                        print("  %s run %d: %d queries lost" % (label, run + 1, summary["lost"]))
                results[label]["qps"].append(saturated["qps"])
                results[label]["p50_ms"].append(paced["p50_ms"])
                results[label]["p99_ms"].append(paced["p99_ms"])
                print("  run %d %-8s %8.0f q/s   p50 %.3f ms  p99 %.3f ms   (%s)" % (
                    run + 1, label, saturated["qps"], paced["p50_ms"], paced["p99_ms"], saturated.get("codes")))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
        subprocess.run(["ip", "netns", "del", SANDBOX], check=False)
        shutil.rmtree(work)

    median = {label: {k: statistics.median(v) for k, v in r.items()} for label, r in results.items()}
    print()
    print("%d services x %d tasks, %d names, %d runs of %d s; paced at %d q/s" % (
        args.services, args.tasks, len(names), args.runs, args.seconds, args.rate))
    print("%-10s %12s %12s %12s" % ("", "queries/s", "p50 ms", "p99 ms"))
    for label in ("swarmnet", "dnsmasq"):
        m = median[label]
        print("%-10s %12.0f %12.3f %12.3f" % (label, m["qps"], m["p50_ms"], m["p99_ms"]))
    s, d = median["swarmnet"], median["dnsmasq"]
    ratios = (s["qps"] / d["qps"], s["p50_ms"] / d["p50_ms"], s["p99_ms"] / d["p99_ms"])
    print("%-10s %11.2fx %11.2fx %11.2fx" % (("ratio",) + ratios))


if __name__ == "__main__":
    main()
