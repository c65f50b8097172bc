"""Encrypted vs plain overlay TCP throughput between two VMs (iperf3), side by side.

Needs the VM cluster converged (`molecule converge -s vm`, or `make test-vm` stopped
before destroy): there frontend is encrypted (ESP, AES-GCM) and ingress is plain, and
task-a on h1 and task-b on h2 are on both. Runs alternate so both see the same load;
prints medians and the ratio (goal >= 0.5; Swarm users report ~0.01, moby#33133).
Run as root: python3 bench/encryption.py [--runs N] [--seconds S]
"""

import argparse
import json
import statistics
import subprocess
import time

KEY = "/run/swarmnet-vm/id_ed25519"
ADDRESS = {"h1": "198.19.0.11", "h2": "198.19.0.12"}
PYTHON = "/opt/swarmnet/venv/bin/python"
SUBNET = {"ingress": "10.255.", "frontend": "10.10.1."}     # the lab's group variables
# Addresses and MTUs of the sandbox's links, read with pyroute2 inside it.
ADDRESSES = ("import json; from pyroute2 import IPRoute; ipr = IPRoute(); "
             "mtu = {l['index']: l.get_attr('IFLA_MTU') for l in ipr.get_links()}; "
             "print(json.dumps([(a.get_attr('IFA_ADDRESS'), mtu[a['index']]) for a in ipr.get_addr(family=2)]))")


def ssh(host, command, **kwargs):
    argv = ["ssh", "-i", KEY, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "root@" + ADDRESS[host], command]
    return subprocess.run(argv, capture_output=True, text=True, check=True, **kwargs).stdout


def endpoint(host, sandbox, network):
    """The sandbox's address and MTU on a network."""
    for address, mtu in json.loads(ssh(host, "ip netns exec %s %s -c \"%s\"" % (sandbox, PYTHON, ADDRESSES))):
        if address.startswith(SUBNET[network]):
            return address, mtu
    raise SystemExit("no %s endpoint of %s on %s: converge the VM scenario first" % (network, sandbox, host))


def iperf(target, seconds):
    out = ssh("h1", "ip netns exec task-a iperf3 -J -c %s -t %d" % (target, seconds))
    return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    plain, plain_mtu = endpoint("h2", "task-b", "ingress")
    secret, secret_mtu = endpoint("h2", "task-b", "frontend")
    server = subprocess.Popen(["ssh", "-i", KEY, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                               "-o", "LogLevel=ERROR", "root@" + ADDRESS["h2"],
                               "exec ip netns exec task-b iperf3 -s"], stdout=subprocess.DEVNULL)
    try:
        time.sleep(3)
        results = {"plain": [], "encrypted": []}
        for _run in range(args.runs):
            results["plain"].append(iperf(plain, args.seconds))
            results["encrypted"].append(iperf(secret, args.seconds))
    finally:
        server.terminate()
        ssh("h2", "pkill -x iperf3 || true")
    plain_mbps, secret_mbps = statistics.median(results["plain"]), statistics.median(results["encrypted"])
    print("| overlay (task-a on h1 -> task-b on h2) | MTU | Mbit/s (median of %d x %d s) |" % (args.runs, args.seconds))
    print("|---|---|---|")
    print("| ingress, plain VXLAN | %d | %.0f |" % (plain_mtu, plain_mbps))
    print("| frontend, VXLAN in ESP (AES-GCM-128) | %d | %.0f |" % (secret_mtu, secret_mbps))
    print("\nencrypted / plain = %.2f (goal >= 0.5)" % (secret_mbps / plain_mbps))


if __name__ == "__main__":
    main()
