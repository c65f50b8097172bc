"""What a converge costs as the cluster grows: services, then hosts, next to plays of `ping`.

On new lab hosts (playbooks/lab.yml) each time: for the demo, for the demo plus each of
--services (N services x 3 replicas on a network of their own), and for the demo on each of --hosts lab hosts,
converges site.yml once (first), then three times with nothing to change (no-op, the median),
each next to a play of as many `ansible.builtin.ping` tasks as the converge ran on a host (the
floor of what Ansible itself costs per task; median of three, alternating with the no-ops). With
extra services, one more converge scales the first of them from 3 to 4 replicas. Prints one
table of ratios and destroys the lab hosts at the end. Where the kernel's process accounting
can be turned on (Debian's acct package: accton, sa), a second table splits the no-op's CPU
time: Ansible on the controller, the modules' Python on the hosts, every other program. Run as
root from the repository (it takes the lab hosts swlab-*, so no other lab may run):

    .venv/bin/python bench/converge.py [--services 20 40 80] [--hosts 3 6 12]
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BIN = os.path.join(ROOT, ".venv", "bin")
ENV = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), PATH=BIN + ":" + os.environ["PATH"],
           ANSIBLE_STDOUT_CALLBACK="default")
RUNS = 3        # no-op converges and ping plays, alternating; the medians are compared
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)", re.M)


def play(*args):
    """Runs ansible-playbook; (seconds, {host: (ok, changed, skipped)})."""
    start = time.monotonic()
    done = subprocess.run([os.path.join(BIN, "ansible-playbook")] + list(args), capture_output=True, text=True,
                          env=ENV, check=False, cwd=ROOT)
    took = time.monotonic() - start
    if done.returncode != 0:
        sys.exit("ansible-playbook %s failed:\n%s%s" % (" ".join(args), done.stdout[-4000:], done.stderr[-2000:]))
    return took, {m.group(1): (int(m.group(2)), int(m.group(3)), int(m.group(6))) for m in RECAP.finditer(done.stdout)}


# `sa -u`: one line per process that ended, "USER CPU cpu MEM mem IO io COMMAND [FLAGS]".
SA_LINE = re.compile(r"^\S+\s+([\d.]+) cpu .* io (\S+)", re.M)


def cpu_by_kind(*args):
    """play(*args) under the kernel's process accounting: (seconds, recap, {kind: CPU seconds}) for the
    processes that ended meanwhile (the lab's long-running agents do not); no split without accton."""
    if not shutil.which("accton"):
        return play(*args) + ({},)
    with tempfile.NamedTemporaryFile(prefix="swarmnet-acct-") as acct:
        subprocess.run(["accton", acct.name], check=True, capture_output=True)
        try:
            took, recap = play(*args)
        finally:
            subprocess.run(["accton", "off"], check=True, capture_output=True)
        listing = subprocess.run(["sa", "-u", "-i", acct.name], capture_output=True, text=True, check=True).stdout
    split = {"controller": 0.0, "modules": 0.0, "other": 0.0}
    for cpu, command in SA_LINE.findall(listing):
        kind = ("controller" if command.startswith("ansible-playboo")    # the command name is cut at 15
                else "modules" if command in ("python", "python3") else "other")
        split[kind] += float(cpu)
    return took, recap, split


def inventory(directory, hosts):
    """The lab inventory with `hosts` lab hosts (the lab's group_vars, linked)."""
    os.makedirs(directory, exist_ok=True)
    group_vars = os.path.join(directory, "group_vars")
    if not os.path.exists(group_vars):
        os.symlink(os.path.join(ROOT, "inventories", "lab", "group_vars"), group_vars)
    members = {"h%d" % i: {"ansible_host": "swlab-h%d" % i, "swarmnet_advertise_addr": "198.18.0.%d" % (10 + i)}
               for i in range(1, hosts + 1)}
    with open(os.path.join(directory, "hosts.yml"), "w") as f:
        json.dump({"all": {"children": {"swarmnet": {"hosts": members, "vars": {
            "ansible_connection": "swarmnet.overlay.netns", "ansible_python_interpreter": "/usr/bin/python3"}}}}}, f)
    return directory


# The extra services' own network: frontend (a /24) holds a VIP and three tasks for at most 63 services.
BENCH_NETWORK = {"name": "bench", "subnet": "10.11.0.0/20"}


def services_file(directory, count, scaled=False):
    """Extra vars: the demo plus `count` services, 3 replicas each, on a network of their own (`scaled`: the
    first 4). Every task sandbox of that network balances every one of them, as Docker's do."""
    path = os.path.join(directory, "services-%d%s.json" % (count, "-scaled" if scaled else ""))
    extra = [{"name": "s%03d" % i, "networks": [BENCH_NETWORK["name"]], "replicas": 4 if scaled and i == 0 else 3,
              "command": ["python3", "-c", "{{ lab_whoami }}", "80"]} for i in range(count)]
    with open(path, "w") as f:
        json.dump({"swarmnet_services": "{{ lab_services + bench_services }}", "bench_services": extra,
                   "swarmnet_networks": "{{ lab_networks + bench_networks }}", "bench_networks": [BENCH_NETWORK]}, f)
    return "@" + path


def pings(directory, count):
    """A play of `count` ping tasks on every host of the inventory."""
    path = os.path.join(directory, "ping-%d.yml" % count)
    with open(path, "w") as f:
        json.dump([{"name": "Pings", "hosts": "swarmnet", "gather_facts": False,
                    "tasks": [{"name": "Ping %d" % i, "ansible.builtin.ping": None} for i in range(count)]}], f)
    return path


def lab_absent(directory, hosts):
    """The lab of `hosts` hosts torn down and removed: with its own inventory, so that the teardown runs on
    every one of them (lab.yml's default inventory names three)."""
    play("-i", inventory(os.path.join(directory, "inv-%d" % hosts), hosts),
         os.path.join(ROOT, "playbooks", "lab.yml"), "-e", "lab_state=absent")


def lab(directory, hosts, before):
    """New lab hosts, `before` hosts there now."""
    lab_absent(directory, before)
    play(os.path.join(ROOT, "playbooks", "lab.yml"), "-e", "lab_count=%d" % hosts)


def measure(directory, label, hosts, extra, scaled=None):
    """First and no-op converge, the ping play as long as the no-op's tasks on h1, and (given `scaled`,
    the extra vars with one service one replica larger) a converge that scales that one service."""
    inv = ["-i", inventory(os.path.join(directory, "inv-%d" % hosts), hosts)]
    site = os.path.join(ROOT, "site.yml")
    first = play(*(inv + [site] + extra))[0]
    noops, pinged, splits = [], [], []
    for _run in range(RUNS):     # alternating, so that whatever else the machine does falls on both
        took, recap, split = cpu_by_kind(*(inv + [site] + extra))
        noops.append(took)
        splits.append(split)
        ran = recap["h1"][0]        # tasks that ran for h1 (ok; skipped ones cost next to nothing)
        pinged.append(play(*(inv + [pings(directory, ran)]))[0])
    noop, ping = statistics.median(noops), statistics.median(pinged)
    changed = sum(counts[1] for counts in recap.values())
    scale = play(*(inv + [site] + scaled))[0] if scaled else None
    scale_text = "-" if scale is None else "%s s" % round(scale, 1)
    print("  %-28s first %6.1f s  no-op %6.1f s  (%d tasks on h1, changed=%d)  %d pings %5.1f s  scale one %s"
          % (label, first, noop, ran, changed, ran, ping, scale_text), file=sys.stderr)
    cpu = {kind: statistics.median(split[kind] for split in splits) for kind in splits[0]}
    return {"label": label, "first": first, "noop": noop, "tasks": ran, "changed": changed, "ping": ping,
            "scale": scale, "cpu": cpu}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--services", type=int, nargs="*", default=[20, 40, 80])
    parser.add_argument("--hosts", type=int, nargs="*", default=[3, 6, 12])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="swarmnet-bench-") as directory:
        runs = [("demo (3 services, 6 tasks)", 3, [], None)]
        runs += [("demo + %d services x 3" % n, 3, ["-e", services_file(directory, n)],
                  ["-e", services_file(directory, n, scaled=True)]) for n in args.services]
        runs += [("demo on %d hosts" % h, h, [], None) for h in args.hosts if h != 3]
        before = 3
        for label, hosts, extra, scaled in runs:
            lab(directory, hosts, before)      # every first converge starts from new hosts
            rows.append(measure(directory, label, hosts, extra, scaled))
            before = hosts
        demo = rows[0]
        lab_absent(directory, before)
    print("| converge (lab hosts, 2 cores) | first, s | no-op, s | tasks on h1 | no-op / demo no-op "
          "| ping play of as many tasks, s | no-op / ping | changed in no-op | one service 3 -> 4, s | scale / no-op |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        scale = ("-", "-") if row["scale"] is None else ("%.1f" % row["scale"], "%.2f" % (row["scale"] / row["noop"]))
        print("| %s | %.1f | %.1f | %d | %.2f | %.1f | %.2f | %d | %s | %s |" % (
            row["label"], row["first"], row["noop"], row["tasks"], row["noop"] / demo["noop"], row["ping"],
            row["noop"] / row["ping"], row["changed"], scale[0], scale[1]))
    print()
    print("Goals: no-op with 40 services <= 1.2 x the demo's; the demo's no-op <= 1.2 x its ping play; "
          "12 hosts <= 1.5 x 3 hosts; scaling one service of 40 from 3 to 4 replicas <= 1.3 x the no-op.")
    if demo["cpu"]:
        print()
        print("| no-op's CPU (medians, process accounting) | Ansible on the controller, s | the modules' Python, s "
              "| other programs, s | all / the demo's |")
        print("|---|---:|---:|---:|---:|")
        for row in rows:
            cpu = row["cpu"]
            figures = (cpu["controller"], cpu["modules"], cpu["other"], sum(cpu.values()) / sum(demo["cpu"].values()))
            print("| %s | %.2f | %.2f | %.2f | %.2f |" % ((row["label"],) + figures))


if __name__ == "__main__":
    main()
