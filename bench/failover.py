"""Failover as a client sees it: a task frozen, a host lost, with the live layer and without it.

Needs the converged lab (`make lab`). A client in task-a (h1) asks http://web/ every 50 ms
(1 s timeout) for --window seconds; 3 s in, web's task on h2 is frozen (SIGSTOP), or h3's
underlay link goes down. Per trial: the time from the fault to the start of the last failed
request, and the failed requests. The fault is undone after each trial and the lab left to
settle. First every trial without the live layer (site.yml with swarmnet_live_layer=false:
today's behaviour, the kernel balances as planned whatever is down), then with it (site.yml
again). Prints one table, medians of --trials. Run as root from the repository:

    .venv/bin/python bench/failover.py [--trials 5] [--window 20]
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
LAB = "/run/swarmnet-lab"
PROBE = os.path.join(ROOT, "molecule", "default", "files", "http_probe.py")
BIN = os.path.join(ROOT, ".venv", "bin")
GOALS = {"frozen": 1.0 * 2 + 2, "lost": 10.0}      # interval x retries + 2 s (web: 1 s, 2); 10 s for a host


def in_host(host, argv):
    ns = "swlab-" + host
    return ["nsenter", "--mount=%s/%s.mnt" % (LAB, ns), "--net=/run/netns/%s" % ns] + argv


def converge(live):
    """site.yml on the lab, with or without the live layer."""
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(ROOT, "inventories", "lab"),
           os.path.join(ROOT, "site.yml"), "-e", json.dumps({"swarmnet_live_layer": live})]
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), PATH=BIN + ":" + os.environ["PATH"])
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        sys.exit("site.yml (live layer %s) failed:\n%s" % (live, done.stdout[-3000:]))


def web_task_pid(host):
    """The pid of web's task on `host` (the swarmnet supervisor's status file)."""
    for name in ("web.1", "web.2", "web.3"):
        out = subprocess.run(in_host(host, ["cat", "/var/lib/swarmnet/tasks/%s.status" % name]),
                             capture_output=True, text=True, check=False).stdout
        if out:
            return json.loads(out)["pid"]
    sys.exit("no web task on %s: run `make lab` first" % host)


def trial(kind, window):
    """(seconds from the fault to the last failed request or None, failed requests)."""
    client = subprocess.Popen(in_host("h1", ["ip", "netns", "exec", "task-a", "python3", PROBE, "timeline",
                                             "http://web/", str(window)]),
                              stdout=subprocess.PIPE, text=True)
    time.sleep(3)
    if kind == "frozen":
        pid = web_task_pid("h2")
        fault = time.time()
        os.kill(pid, signal.SIGSTOP)
    else:
        fault = time.time()
        subprocess.run(["ip", "-n", "swlab-h3", "link", "set", "eth0", "down"], check=True)
    try:
        seen = json.loads(client.communicate()[0])
    finally:
        if kind == "frozen":
            os.kill(pid, signal.SIGCONT)
        else:
            subprocess.run(["ip", "-n", "swlab-h3", "link", "set", "eth0", "up"], check=True)
    failed = [t for t, _error in seen["failures"] if t >= fault]
    return (max(failed) - fault if failed else None), len(failed)


def settle(seconds):
    """After a fault is undone: Serf rejoins, the task passes its check, balancing follows."""
    time.sleep(seconds)


def cell(values, fmt):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return (fmt % statistics.median(values)) + " (" + " ".join(fmt % v for v in values) + ")"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--window", type=int, default=20, help="seconds each client runs")
    args = parser.parse_args()
    results = {}
    for live in (False, True):
        converge(live)
        settle(8)
        for kind in ("frozen", "lost"):
            for _trial in range(args.trials):
                results.setdefault((kind, live), []).append(trial(kind, args.window))
                settle(15)
    print("A client in task-a asks http://web/ every 50 ms (1 s timeout) for %d s; the fault 3 s in." % args.window)
    print("Medians of %d trials (each trial in brackets). Without the live layer the failures last until"
          " the fault is undone, after the window." % args.trials)
    print()
    print("| fault | live layer | fault to last failed request, s | failed requests | goal |")
    print("|---|---|---:|---:|---|")
    for (kind, live), runs in sorted(results.items(), key=lambda item: (item[0][0], item[0][1])):
        last = [r[0] for r in runs]
        met = live and all(t is not None and t <= GOALS[kind] for t in last)
        verdict = "met" if met else ("not met" if live else "-")
        what = "out of balancing" if kind == "frozen" else "host out"
        goal = "%s within %g s: %s" % (what, GOALS[kind], verdict)
        fault = "web task frozen (SIGSTOP)" if kind == "frozen" else "h3's link down"
        row = (fault, "yes" if live else "no", cell(last, "%.1f"), cell([r[1] for r in runs], "%d"), goal)
        print("| %s | %s | %s | %s | %s |" % row)


if __name__ == "__main__":
    main()
