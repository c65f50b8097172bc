"""Requests/s and latency through a service VIP and a published port vs straight to the task.

Needs the lab (`make lab`). Adds a service `bench` with one task (so the VIP and the direct
path reach the very same backend) to the lab inventory, converges, and runs wrk from task-a
on h1 to the task on another host:
  direct     task-a -> the task's frontend address (over VXLAN)
  VIP        task-a -> the service VIP (DNAT in task-a's namespace, then the same path)
  published  h1's host namespace -> 198.18.0.11:PORT (routing mesh: host DNAT, ingress
             sandbox, masquerade, the ingress overlay)
  ingress sandbox  the same from the ingress sandbox on: h1 -> the sandbox's gateway-bridge
             address (no DNAT in the host namespace)
with keep-alive connections (see docs/BENCHMARKS.md for why a connection-per-request
mode is not here). Runs alternate so each sees the same machine load; prints medians and ratios
to direct. The backend is a small asyncio HTTP responder, so the network path, not the
server, sets the pace as far as two cores allow. Removes the service afterwards.
Run as root: python3 bench/services.py [--runs N] [--seconds S]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
LAB = "/run/swarmnet-lab"
PORT = 8099
RESPONDER = r"""
import asyncio
REPLY = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\nok\n"
async def serve(reader, writer):
    try:
        while True:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(REPLY)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    writer.close()
async def main():
    server = await asyncio.start_server(serve, "0.0.0.0", 80, backlog=1024)
    await server.serve_forever()
asyncio.run(main())
"""
# wrk prints its summary as JSON through this script.
REPORT = """
done = function(summary, latency, requests)
  io.write(string.format('{"requests": %d, "seconds": %f, "errors": %d, "p50_ms": %f, "p99_ms": %f}\\n',
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def in_host(host, argv, sandbox=None):
    ns = "swlab-" + host
    prefix = ["nsenter", "--mount=%s/%s.mnt" % (LAB, ns), "--net=/run/netns/%s" % ns]
    if sandbox:
        prefix += ["nsenter", "--net=/run/netns/" + sandbox]
    return prefix + argv


def converge(services):
    extra = json.dumps({"lab_services": services})
    subprocess.run([os.path.join(ROOT, ".venv", "bin", "ansible-playbook"), "-i", "inventories/lab", "site.yml",
                    "-e", extra], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def registry():
    out = subprocess.run(in_host("h1", ["cat", "/var/lib/swarmnet/services.json"]),
                         capture_output=True, text=True, check=True).stdout
    return {s["name"]: s for s in json.loads(out)}


def mesh_target(port):
    """Where h1's routing mesh sends a published port: the ingress sandbox's gateway-bridge address."""
    out = subprocess.run(in_host("h1", ["nft", "-j", "list", "table", "ip", "swarmnet_mesh"]),
                         capture_output=True, text=True, check=True).stdout
    for item in json.loads(out)["nftables"]:
        rule = item.get("rule") or {}
        exprs = rule.get("expr") or []
        if any((e.get("match") or {}).get("right") == port for e in exprs):
            for e in exprs:
                if "dnat" in e:
                    return e["dnat"]["addr"]
    raise SystemExit("no mesh rule for port %d on h1" % port)


def wrk(argv, url, seconds, script):
    out = subprocess.run(argv + ["wrk", "-t", "1", "-c", "8", "-d", "%ds" % seconds, "-s", script, url],
                         capture_output=True, text=True, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["rps"] = result["requests"] / result["seconds"]
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=4)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk (make setup installs it)")
    if not os.path.exists(os.path.join(LAB, "swlab-h1.mnt")):
        sys.exit("no lab: run `make lab` first")
    lab_services = [{"name": "bench", "networks": ["frontend"], "replicas": 1, "placement": ["h2"],
                     "ports": [{"published": PORT, "target": 80}], "command": ["python3", "-c", RESPONDER]}]
    converge(lab_services)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(REPORT)
        script = f.name
    os.chmod(script, 0o644)
    try:
        bench = registry()["bench"]
        task_ip = bench["tasks"][0]["addresses"]["frontend"]
        paths = {
            "direct (task-a -> task)": (in_host("h1", [], "task-a"), "http://%s/" % task_ip),
            "VIP (task-a -> VIP)": (in_host("h1", [], "task-a"), "http://%s/" % bench["vips"]["frontend"]),
            "published (h1 -> 198.18.0.11:%d)" % PORT: (in_host("h1", []), "http://198.18.0.11:%d/" % PORT),
            # The same path without the host's DNAT: what the ingress sandbox and its masquerade cost.
            "ingress sandbox (h1 -> its gateway-bridge address)": (
                in_host("h1", []), "http://%s:%d/" % (mesh_target(PORT), PORT)),
        }
        results = {name: [] for name in paths}
        wrk(paths["direct (task-a -> task)"][0], paths["direct (task-a -> task)"][1], 1, script)  # warm up
        for _run in range(args.runs):
            for name, runs in results.items():
                argv, url = paths[name]
                runs.append(wrk(argv, url, args.seconds, script))
    finally:
        os.unlink(script)
        converge([])
        subprocess.run([os.path.join(ROOT, ".venv", "bin", "ansible-playbook"), "-i", "inventories/lab",
                        "site.yml"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    print("wrk, 1 thread, 8 connections, %d runs of %d s each, alternating; backend: one task on h2" %
          (args.runs, args.seconds))
    print("| path | median req/s | p50 ms | p99 ms | errors | ratio to direct |")
    print("|---|---:|---:|---:|---:|---:|")
    base = statistics.median(r["rps"] for r in results["direct (task-a -> task)"])
    for name, runs in results.items():
        rps = statistics.median(r["rps"] for r in runs)
        print("| %s | %.0f | %.2f | %.2f | %d | %.2f |" % (
            name, rps, statistics.median(r["p50_ms"] for r in runs), statistics.median(r["p99_ms"] for r in runs),
            sum(r["errors"] for r in runs), rps / base))


if __name__ == "__main__":
    main()
