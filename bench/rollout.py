"""Rolling a service to a new spec, as a client sees it: batch by batch against restarting every task.

On new lab hosts (playbooks/lab.yml), the demo plus three services on frontend, solo1 (1 task),
roll3 (3 tasks) and roll12 (12 tasks), each task a whoami server with web's healthcheck and
update_config {parallelism: P, order: O, monitor: 2s}. Each trial changes one service's command
(one more argument) and converges site.yml while a client in task-a asks http://SERVICE/ every
50 ms (1 s timeout), and counts the converge's time and the client's failed requests. Five ways,
one after the other per service: every task restarted at once (the rollout turned off with
-e swarmnet_rollout=[], as before issue 17), rolled stop-first with parallelism 1, then 3, and
start-first (the new tasks beside the old ones, then the old ones out), and start-first again with
the pass after the handover converging everything again (as before it skipped what the run had
applied already: -e swarmnet_applied_unchanged=[]). Prints one table of
medians of --trials and destroys the lab hosts at the end. Run as root from the repository (it
takes the lab hosts swlab-*, so no other lab may run):

    .venv/bin/python bench/rollout.py [--trials 1] [--services solo1 roll3 roll12]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BIN = os.path.join(ROOT, ".venv", "bin")
ENV = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), PATH=BIN + ":" + os.environ["PATH"])
PROBE = os.path.join(ROOT, "molecule", "default", "files", "http_probe.py")
LAB = "/run/swarmnet-lab"
SIZES = {"solo1": 1, "roll3": 3, "roll12": 12}
# (label, extra vars): how the changed service's tasks restart.
WAYS = [("every task at once (no rollout)", {"swarmnet_rollout": []}),
        ("parallelism 1", {"bench_parallelism": 1}),
        ("parallelism 3", {"bench_parallelism": 3}),
        ("start-first", {"bench_order": "start-first"}),
        # what the second pass after a handover cost before it skipped the parts the run applied already
        ("start-first, second pass in full", {"bench_order": "start-first", "swarmnet_applied_unchanged": []})]


def play(*args):
    start = time.monotonic()
    done = subprocess.run([os.path.join(BIN, "ansible-playbook")] + list(args), capture_output=True, text=True,
                          env=ENV, check=False, cwd=ROOT)
    if done.returncode != 0:
        sys.exit("ansible-playbook %s failed:\n%s%s" % (" ".join(args), done.stdout[-4000:], done.stderr[-2000:]))
    return time.monotonic() - start


def services_file(directory):
    """Extra vars: the demo plus solo1, roll3 and roll12, whose command ends with their generation."""
    path = os.path.join(directory, "services.json")
    extra = [{"name": name, "networks": ["frontend"], "replicas": size,
              "command": ["python3", "-c", "{{ lab_whoami }}", "80", "{{ bench_generation_%s | default(0) | string }}" % name],
              "healthcheck": {"http": {"port": 80, "path": "/"}, "interval": "1s", "timeout": "1s", "retries": 2},
              "update_config": {"parallelism": "{{ bench_parallelism | default(1) }}",
                                "order": "{{ bench_order | default('stop-first') }}", "monitor": "2s"}}
             for name, size in SIZES.items()]
    with open(path, "w") as f:
        json.dump({"swarmnet_services": "{{ lab_services + bench_services }}", "bench_services": extra}, f)
    return path


def trial(directory, services, service, generation, way):
    """(converge seconds, failed requests) of one change of `service` under a client of its VIP."""
    stop = os.path.join(directory, "stop-%d" % generation)
    client = subprocess.Popen(["nsenter", "--mount=%s/swlab-h1.mnt" % LAB, "--net=/run/netns/swlab-h1",
                               "ip", "netns", "exec", "task-a", "python3", PROBE, "timeline",
                               "http://%s/" % service, "900", "--stop", stop], stdout=subprocess.PIPE, text=True)
    time.sleep(2)
    extra = dict(way, **{"bench_generation_%s" % service: generation})
    took = play("-i", os.path.join(ROOT, "inventories", "lab"), os.path.join(ROOT, "site.yml"),
                "-e", "@" + services, "-e", json.dumps(extra))
    time.sleep(2)
    with open(stop, "w"):
        pass
    seen = json.loads(client.communicate()[0])
    os.unlink(stop)
    if not seen["answers"]:
        sys.exit("the client of %s got no answer at all: %s" % (service, seen["failures"][:3]))
    return took, len(seen["failures"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--trials", type=int, default=1)
    parser.add_argument("--services", nargs="+", choices=list(SIZES), default=list(SIZES),
                        help="the services to change (all are deployed)")
    args = parser.parse_args()
    lab = os.path.join(ROOT, "playbooks", "lab.yml")
    results = {}
    with tempfile.TemporaryDirectory(prefix="swarmnet-bench-") as directory:
        services = services_file(directory)
        play(lab, "-e", "lab_state=absent")
        play(lab)
        play("-i", os.path.join(ROOT, "inventories", "lab"), os.path.join(ROOT, "site.yml"), "-e", "@" + services)
        generation = 0
        for service in args.services:
            for label, way in WAYS:
                for _trial in range(args.trials):
                    generation += 1
                    took, failed = trial(directory, services, service, generation, way)
                    results.setdefault((service, label), []).append((took, failed))
                    print("  %-7s %-32s converge %6.1f s, %d failed requests" % (service, label, took, failed),
                          file=sys.stderr)
        play(lab, "-e", "lab_state=absent")
    print("| service | tasks restarted | converge, s | / every task at once | failed requests |")
    print("|---|---|---:|---:|---:|")
    for service in args.services:
        base = statistics.median(t for t, _f in results[(service, WAYS[0][0])])
        for label, _way in WAYS:
            runs = results[(service, label)]
            took = statistics.median(t for t, _f in runs)
            print("| %s (%d tasks) | %s | %.1f | %.2f | %s |" % (
                service, SIZES[service], label, took, took / base, " ".join(str(f) for _t, f in runs)))
    print()
    print("A client asks http://SERVICE/ every 50 ms during each converge; goal: 0 failed requests when rolled.")


if __name__ == "__main__":
    main()
