# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live agent of a host: what Swarm does on its own between commands.

One process per host, supervised like the resolver, next to the host's Serf agent:

- it runs the healthchecks of this host's tasks (health.py, probes.py) and watches their
  processes, and publishes their health as this host's Serf tag (membership.py), and in a
  user event that carries the tag, so the other hosts apply it at once instead of after
  Serf's event coalescing and a look at the members (every `serf` run is a process, slow
  under emulation);
- it reads the members and their tags from Serf, on each event and every MEMBERS_EVERY
  seconds, and joins the planned peers it does not see alive;
- from both it writes the facts (availability.py) and re-applies every sandbox's balancing
  from the record the last converge left (live_balancing.py) when the mask changes. The
  resolver follows the facts by itself.

Ansible stays the source of what exists: the agent only holds back what is down. Its
configuration (STATE_DIR/live/agent.json) is written by the live_agent module and re-read
when it changes. A restarted agent keeps the health of tasks whose process did not change.

Threads: the main loop owns all state; the Serf poller, the publisher, the applier, the
joiner and the probes report to it through a queue. This file is also the program
(`swarmnet-live STATE_DIR`, an entry point deployed by the live_agent module).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import NamedTuple

from ansible_collections.swarmnet.overlay.plugins.module_utils.host import live as live_layer, supervisor, task
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import balancer, netns
from ansible_collections.swarmnet.overlay.plugins.module_utils.live import (
    availability, health, hold, lb_records, live_balancing, live_hint, membership, probes)
from ansible_collections.swarmnet.overlay.plugins.module_utils.reconcile import Changes

TICK = 0.1
PROCESSES_EVERY = 0.5        # seconds between looks at the tasks' processes
MEMBERS_EVERY = 5.0          # seconds between polls of Serf when no event came (events say what changed)
JOIN_EVERY = 5.0             # seconds between joins of planned peers not seen alive
SETTLE = 3.0                 # after a start, facts wait this long for a peer to be seen alive
HEARTBEAT = 3.0              # the facts are refreshed this often (availability.STALE_AFTER trusts 15 s)
HINT_WINDOW = 2.0            # after an event without its tag, poll Serf until the tag arrives, this long
HINT_POLL = 0.05
HINT_HOLD = 30.0             # a tag an event carried stands against an older one in Serf's list at most this long
HINT_PAYLOAD_LIMIT = 256     # Serf refuses user events over 512 bytes: a longer tag is announced by its number
PROBE_WORKERS = 8


class Publish(NamedTuple):
    """A health tag to set; announce: tell the other hosts at once (a change, not a re-set)."""
    tag: str
    announce: bool

    def instead_of(self, earlier):
        """This publish in the place of `earlier`, not sent yet: a re-set of the same tag keeps its
        announcement (a member list read before the change would otherwise cancel the event)."""
        if earlier is not None and earlier.tag == self.tag and earlier.announce:
            return self._replace(announce=True)
        return self


def digest(text):
    return hashlib.sha256(text.encode()).hexdigest()


def log(text):
    now = time.time()
    sys.stdout.write("%s.%03d %s\n" % (time.strftime("%H:%M:%S", time.localtime(now)), int(now * 1000) % 1000, text))
    sys.stdout.flush()


class Mailbox:
    """The latest value for a worker thread: a newer one replaces one not yet taken (through
    `replace(newer, older)` when given)."""

    def __init__(self, replace=None):
        self.cond = threading.Condition()
        self.value, self.full = None, False
        self.replace = replace

    def put(self, value):
        with self.cond:
            if self.full and self.replace is not None:
                value = self.replace(value, self.value)
            self.value, self.full = value, True
            self.cond.notify()

    def take(self, timeout):
        with self.cond:
            if not self.full:
                self.cond.wait(timeout)
            value, full = self.value, self.full
            self.value, self.full = None, False
            return value if full else None


class Agent:
    def __init__(self, state_dir):
        self.state_dir = state_dir
        self.stop = threading.Event()
        self.events = queue.Queue()
        self.config, self.config_digest, self.config_mtime = None, None, None
        self.serf = None
        self.runner = None
        self.tasks = {}              # local task name -> health.TaskHealth
        self.held = set()            # local tasks a rollout holds out of traffic (hold.py)
        self.held_mtime = None
        self.remote = {}             # host -> {task name: HEALTHY, UNHEALTHY or OUT}
        self.hinted = {}             # host -> (seq, monotonic time it came): the tag its last event carried
        self.taken = {}              # host -> seq of the tag its tasks' health was last taken from
        self.statuses = {}           # host -> Serf status
        self.members = []            # every member Serf knows, planned or not: [{name, addr, status}]
        self.started = time.monotonic()
        self.members_seen = False    # Serf answered at least once
        self.tag = None              # this host's health tag as it should be
        self.reported = {}           # local task -> the state last logged
        self.facts = None            # what was last handed to the applier
        self.written = None          # what the applier last wrote and works from
        self.next_processes = 0.0
        self.polls = Mailbox()       # (host, seq) to wait for, or "now"
        self.publishes = Mailbox(Publish.instead_of)     # the latest Publish
        self.applies = Mailbox()     # facts
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=PROBE_WORKERS)

    # ---- configuration -----------------------------------------------------------

    def load_config(self):
        """(Re)read agent.json when it changed; True when it did."""
        path = live_layer.agent_config_path(self.state_dir)
        try:
            mtime = os.stat(path).st_mtime_ns
            if mtime == self.config_mtime:
                return False
            with open(path) as f:
                text = f.read()
            config = json.loads(text)
        except (OSError, ValueError) as exc:
            if self.config is None:
                log("no configuration yet (%s)" % exc)
            return False
        planned_before = set(self.planned_hosts()) if self.config is not None else set()
        self.config, self.config_digest, self.config_mtime = config, digest(text), mtime
        self.serf = membership.Serf(config["rpc_addr"], config["rpc_auth"])
        self.runner = task.backend(config["supervisor"], _run_command, self.state_dir, sys.executable)
        now = time.monotonic()
        kept = {}
        for spec in config["tasks"]:
            old = self.tasks.get(spec["name"])
            if old is not None and old.check == spec["healthcheck"] and old.supervised == spec["supervised"]:
                kept[spec["name"]] = old
            else:
                kept[spec["name"]] = health.TaskHealth(spec["healthcheck"], spec["supervised"], now)
        self.tasks = kept
        self.next_processes = 0.0
        self.forget(planned_before - set(self.planned_hosts()))
        log("configuration loaded: %d local tasks, %d peers" % (len(self.tasks), len(config["peers"])))
        return True

    def forget(self, hosts):
        """Drops what Serf last said of `hosts`, which the configuration no longer plans: facts carry the
        digest of a configuration as soon as it is read, and the module that wrote it returns then, before
        Serf's next answer (a host that left the inventory was still in the facts a converge ended with)."""
        self.statuses = {host: status for host, status in self.statuses.items() if host not in hosts}
        self.members = [member for member in self.members if member["name"] not in hosts]
        self.remote = {host: known for host, known in self.remote.items() if host not in hosts}
        self.hinted = {host: hint for host, hint in self.hinted.items() if host not in hosts}
        self.taken = {host: seq for host, seq in self.taken.items() if host not in hosts}

    def load_held(self):
        """(Re)read the held tasks when their file changed; True when it did."""
        try:
            mtime = os.stat(hold.path(self.state_dir)).st_mtime_ns
        except OSError:
            mtime = None
        if mtime == self.held_mtime:
            return False
        self.held_mtime, held = mtime, hold.read(self.state_dir)
        if held == self.held:
            return False
        log("held out of traffic: %s" % (", ".join(sorted(held)) or "none"))
        self.held = held
        return True

    def spec(self, name):
        return next(t for t in self.config["tasks"] if t["name"] == name)

    def restore_previous(self, now):
        """After a restart: tasks whose process is the same keep the health the last agent saw."""
        previous = supervisor.read_json(availability.facts_path(self.state_dir)) or {}
        if previous.get("boot") != availability.boot_id():
            return
        processes = self.runner.processes([n for n, t in self.tasks.items() if t.supervised])
        kept = 0
        for name, report in (previous.get("local") or {}).items():
            state = self.tasks.get(name)
            if state is not None and state.carry_over(report, processes.get(name), now):
                kept += 1
        log("kept the health of %d tasks whose process did not change" % kept)

    # ---- local health ----------------------------------------------------------------

    def watch_processes(self, now):
        names = [n for n, t in self.tasks.items() if t.supervised]
        for name, process in self.runner.processes(names).items():
            self.tasks[name].observe(process, now)

    def start_probes(self, now):
        for name, state in self.tasks.items():
            if state.due(now):
                spec = self.spec(name)
                state.probe_started(now)
                self.pool.submit(self.probe, name, state.process, state.check, spec["sandbox"],
                                 spec["address"] or "127.0.0.1")

    def probe(self, name, process, check, sandbox, address):
        """On a probe worker: one probe, its outcome queued for the main loop whatever happens."""
        try:
            outcome = probes.run(check, sandbox, address)
        except Exception as exc:  # pylint: disable=broad-except  # a probe that breaks is a failed probe
            outcome = (False, "%s: %s" % (type(exc).__name__, exc))
        self.events.put(("probe", name, process, outcome))

    def probe_done(self, name, process, outcome):
        state = self.tasks.get(name)
        if state is None:
            return
        if state.process == process:
            state.result(outcome[0], outcome[1], time.monotonic())
        else:       # restarted (or gone) while probed: without this the task would never be probed again
            state.discard_probe()

    # ---- membership ----------------------------------------------------------------------

    def planned_hosts(self):
        hosts = {p["name"]: p["address"] for p in self.config["peers"]}
        hosts[self.config["node"]] = self.config["address"]
        return hosts

    def members_arrived(self, members):
        self.members_seen = True
        before = self.statuses
        self.statuses = membership.statuses(members, self.planned_hosts())
        self.members = sorted(({key: m[key] for key in ("name", "addr", "status")} for m in members),
                              key=lambda m: m["name"])
        for host, status in sorted(self.statuses.items()):
            if status != before.get(host) and host != self.config["node"]:
                log("%s: %s -> %s" % (host, before.get(host), status))
        now = time.monotonic()
        for member in members:
            self.remote_health(member, now)
        mine = next((m for m in members if m["name"] == self.config["node"]), None)
        if mine is not None and self.tag is not None and mine["tags"].get(membership.HEALTH_TAG) != self.tag:
            self.publishes.put(Publish(self.tag, announce=False))    # Serf restarted and lost it: set it again

    def remote_health(self, member, now, from_event=False):
        """A host's tasks' health from its tag. A tag for another task list keeps what was known by
        name; a host that is not alive, or alive again without its tag yet (just rebooted), knows nothing.
        A tag older than the one the host's last event carried is Serf's list not caught up yet."""
        host, names = member["name"], self.config["view"].get(member["name"])
        if names is None or host == self.config["node"]:
            return
        tag = member["tags"].get(membership.HEALTH_TAG)
        if self.statuses.get(host) != "alive" or tag is None:
            self.remote.pop(host, None)
            self.hinted.pop(host, None)
            self.taken.pop(host, None)
            return
        seq, decoded = membership.decode(tag, names)
        if not from_event and self.list_behind(host, seq, now):
            return
        self.taken[host] = seq
        known = self.remote.get(host, {})
        if decoded is not None:
            changed = ["%s %s" % (n, state) for n, state in sorted(decoded.items()) if known.get(n) != state]
            if changed:
                log("%s: %s" % (host, ", ".join(changed)))
            known = decoded
        self.remote[host] = {n: known[n] for n in names if n in known}

    def hint_arrived(self, host, tag, now):
        """A host's new health tag, carried by its event: taken now, without asking Serf. An event no
        newer than the tag the health was taken from is old news: Serf hands an event this host missed
        on to it at the next state exchange with a peer, up to half a minute late, after newer ones."""
        seq = membership.decode(tag, [])[0]
        if seq is None or host == self.config["node"] or host not in self.config["view"]:
            return
        known = self.taken.get(host)
        if known is not None and seq <= known:
            if seq < known:
                log("%s: an event older than the health known (%d, known %d): ignored" % (host, seq, known))
            return
        self.hinted[host] = (seq, now)
        self.remote_health({"name": host, "tags": {membership.HEALTH_TAG: tag}}, now, from_event=True)

    def list_behind(self, host, seq, now):
        """Whether a tag of Serf's list is older than the one the host's last event carried. The event's
        tag stands until the list has caught up with it, not for a fixed time: gossip can lag seconds on
        a busy host. HINT_HOLD bounds it, so that a clock that went back cannot freeze a host's health."""
        if host not in self.hinted:
            return False
        hinted_seq, came = self.hinted[host]
        if now - came < HINT_HOLD and (seq is None or seq < hinted_seq):
            if now - came > HINT_WINDOW:    # gossip takes about a second: a lag past this is worth a line
                log("%s: Serf's list is still behind its event %.1f s after it" % (host, now - came))
            return True
        del self.hinted[host]              # caught up (or too long): the list is the truth again
        return False

    # ---- what everyone is told -----------------------------------------------------------

    def local_tag(self):
        """This host's health tag; a new sequence number only when the health it tells changed."""
        names = self.config["view"].get(self.config["node"], [])      # as every other host lists them
        healthy = {n for n, t in self.tasks.items() if t.healthy and n not in self.held}
        out = {n for n, t in self.tasks.items() if n in self.held or t.state == health.STOPPED}
        if self.tag is not None and membership.same_health(self.tag, membership.encode(0, names, healthy, out)):
            return self.tag
        return membership.encode(int(time.time() * 1000), names, healthy, out)

    def current_facts(self, now):
        node = self.config["node"]
        tasks = {host: dict(known) for host, known in self.remote.items() if host in self.config["view"]}
        tasks[node] = {n: hold.HELD if n in self.held else t.state for n, t in self.tasks.items()}
        wall = time.time()
        local = {n: dict(t.report(), since=wall - (now - t.since), held=n in self.held) for n, t in self.tasks.items()}
        return {"config": self.config_digest, "node": node, "hosts": dict(self.statuses), "tasks": tasks,
                "local": local, "members": self.members}

    def settled(self, now):
        """Facts are written once Serf answered and a peer is alive (or there is none, or SETTLE passed):
        a host just started does not call every other host down before it has joined them."""
        peers = [p["name"] for p in self.config["peers"]]
        return self.members_seen and (not peers or now - self.started > SETTLE
                                      or any(self.statuses.get(p) == "alive" for p in peers))

    def update(self, now):
        for name, state in self.tasks.items():
            if state.state != self.reported.get(name):
                log("%s: %s -> %s %s" % (name, self.reported.get(name), state.state, state.output))
                self.reported[name] = state.state
        tag = self.local_tag()
        if tag != self.tag:
            self.tag = tag
            self.publishes.put(Publish(tag, announce=True))
        if not self.settled(now):
            return
        facts = self.current_facts(now)
        # Written (and the balancing looked at) when what they say changed, not a probe's output
        # (a new process is news: a rollout waits for one that stays).
        comparable = dict(facts, local={n: (r["state"], r["process"], r["held"]) for n, r in facts["local"].items()})
        if comparable != self.facts:
            self.facts = comparable
            self.applies.put(facts)

    # ---- threads -----------------------------------------------------------------------

    def poller(self):
        """Serf's members: every MEMBERS_EVERY, or at once on an event (until the tag it announced is in)."""
        while not self.stop.is_set():
            wanted = self.polls.take(MEMBERS_EVERY)
            deadline = time.monotonic() + (HINT_WINDOW if isinstance(wanted, tuple) else 0)
            while not self.stop.is_set():
                serf = self.serf
                try:
                    members = serf.members() if serf else None
                except membership.MembershipError as exc:
                    log("serf: %s" % exc)
                    members = None
                if members is not None:
                    self.events.put(("members", members))
                    self.forget_former_hosts(serf, members)
                if not isinstance(wanted, tuple) or _has_seq(members, *wanted) or time.monotonic() > deadline:
                    break
                time.sleep(HINT_POLL)

    def forget_former_hosts(self, serf, members):
        """A host taken out of the inventory stays in Serf's list, failed, for a day: prune it once it is
        down (a stranger that is alive stays listed, for overlay_info to show)."""
        planned = self.planned_hosts()
        for member in members:
            if member["name"] not in planned and member["status"] in ("failed", "left"):
                try:
                    serf.forget(member["name"])
                    log("%s (%s) is no host of the cluster: pruned from the members" % (member["name"], member["status"]))
                except membership.MembershipError as exc:
                    log("pruning %s: %s" % (member["name"], exc))

    def listener(self):
        """Datagrams from Serf's event handler (live_hint.command()) and from task_hold (live_hint.tell_held())."""
        path = live_hint.socket_path(self.state_dir)
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            if os.path.exists(path):
                os.unlink(path)
            sock.bind(path)
            os.chmod(path, 0o600)
            sock.settimeout(0.5)
            while not self.stop.is_set():
                try:
                    message = live_hint.parse(sock.recv(4096))
                except socket.timeout:
                    continue
                if message[0] == "seq":
                    self.polls.put(message[1:])                 # a tag too long for the event: ask Serf
                elif message[0] in ("hint", live_hint.HELD):
                    self.events.put(message)
                else:
                    self.polls.put("now")
            os.unlink(path)

    def publisher(self):
        """Tells the others this host's new health in an event, then sets it as the host's tag
        (retried until Serf takes both)."""
        pending = None
        while not self.stop.is_set():
            newer = self.publishes.take(1.0 if pending else 5.0)
            pending = newer.instead_of(pending) if newer is not None else pending
            if pending is None or self.serf is None:
                continue
            try:
                if pending.announce:
                    self.serf.event(membership.HINT_EVENT, hint_payload(self.config["node"], pending.tag))
                self.serf.set_tag(membership.HEALTH_TAG, pending.tag)
                log("published %s" % pending.tag)
                pending = None
            except membership.MembershipError as exc:
                log("publishing health: %s (again in 1 s)" % exc)

    def joiner(self):
        """Joins each planned peer that is not alive (first start, a host back or added), one thread each:
        a join of a host that is down waits for Serf's TCP timeout."""
        joining, pause = {}, 0.5
        while not self.stop.wait(pause):
            if self.serf is None or not self.members_seen:
                continue
            pause = JOIN_EVERY
            for peer in self.config["peers"]:
                busy = joining.get(peer["name"])
                if self.statuses.get(peer["name"]) != "alive" and not (busy and busy.is_alive()):
                    address = "%s:%d" % (peer["address"], self.config["port"])
                    joining[peer["name"]] = threading.Thread(target=self.join, args=(address,), daemon=True)
                    joining[peer["name"]].start()

    def join(self, address):
        try:
            self.serf.join([address])
            self.polls.put("now")
        except membership.MembershipError:
            pass                                # down or not there yet: the next round tries again

    def applier(self):
        """Writes the facts and re-applies every sandbox's balancing from its record when the mask changed."""
        while not self.stop.is_set():
            newer = self.applies.take(HEARTBEAT)
            if newer is None and self.written is None:
                continue
            try:
                with lb_records.locked(self.state_dir):
                    if newer is not None:
                        self.write_facts(newer)
                    else:
                        os.utime(availability.facts_path(self.state_dir))      # still alive, still true
                    self.reapply()
            except Exception as exc:  # pylint: disable=broad-except  # one bad sandbox must not stop the agent
                log("applying: %s: %s" % (type(exc).__name__, exc))

    def write_facts(self, facts):
        availability.write(self.state_dir, dict(facts, written=time.time()))
        self.written = facts

    def due(self, switched=()):
        return [d for d in live_balancing.due(lb_records.records(self.state_dir), self.written, switched)
                if netns.exists(d[0])]

    def reapply(self):
        """Every sandbox whose mask changed is switched, those that drop a backend first; then the
        connections tracked to the backends that left or were held back are flushed (walking a big conntrack table
        must not delay the others). Newer facts (a host left mid-pass) are taken between two
        sandboxes and the pass goes on with them: a sandbox switched on the older ones is switched
        again now, not a whole pass later (a sandbox takes 0.1-0.3 s on an emulated CPU, seconds
        when it is starved).
        IPVS's marking stays as the converge made it: only backends change here."""
        flushes, switched = {}, set()
        pending = self.due()
        while pending:
            sandbox, record, applied = pending.pop(0)
            switched.add(sandbox)
            changes = Changes(False)
            with netns.inside(sandbox):
                backend, _before, _after, services = live_balancing.reconcile(
                    self.state_dir, sandbox, record["backend"], record["planned"], record["table"], changes,
                    self.written, flush=False, marking=False)
            log("%s: %s" % (sandbox, "; ".join(changes.done) or "as it was"))
            if backend == "nftables" and (sandbox in flushes or live_balancing.to_flush(record.get("applied"), applied)):
                flushes[sandbox] = services
            newer = self.applies.take(0)
            if newer is not None:
                self.write_facts(newer)
                pending = self.due(switched)
                log("newer facts in the middle of a pass: %d sandboxes to switch" % len(pending))
        for sandbox, services in sorted(flushes.items()):
            changes = Changes(False)
            with netns.inside(sandbox):
                balancer.flush_stale(services, set(), changes)
            for line in changes.done:
                log("%s: %s" % (sandbox, line))

    # ---- the main loop ---------------------------------------------------------------------

    def run(self):
        while self.config is None and not self.stop.is_set():
            if not self.load_config():
                self.stop.wait(1.0)
        if self.config is None:
            return
        self.restore_previous(time.monotonic())
        workers = [threading.Thread(target=f, name=f.__name__, daemon=True)
                   for f in (self.poller, self.listener, self.publisher, self.joiner, self.applier)]
        for worker in workers:
            worker.start()
        self.polls.put("now")
        while not self.stop.is_set():
            try:
                event = self.events.get(timeout=TICK)
            except queue.Empty:
                event = ("tick",)
            now = time.monotonic()
            if self.handle(event, now):
                self.update(now)
        self.pool.shutdown(wait=False, cancel_futures=True)

    def handle(self, event, now):
        """One event of the queue, or a tick; True when what to publish and apply must be worked out again."""
        changed = event[0] != "tick"
        if event[0] == "probe":
            self.probe_done(*event[1:])
        elif event[0] == "members":
            self.members_arrived(event[1])
        elif event[0] == "hint":
            self.hint_arrived(event[1], event[2], now)
        elif event[0] == live_hint.HELD and self.load_held():
            # Now, not at the next look (up to PROCESSES_EVERY later), and the processes with it: a task
            # let back may have been stopped while held (a handover's old task), and would count healthy
            # again, and take requests, until that look.
            self.watch_processes(now)
        if self.load_config():
            self.polls.put("now")
            changed = True
        if now >= self.next_processes:
            self.load_held()
            self.watch_processes(now)
            self.next_processes = now + PROCESSES_EVERY
            changed = True
        self.start_probes(now)
        return changed


def hint_payload(node, tag):
    """The announcement's payload: the tag itself, or its number when it is too long for an event."""
    payload = "%s %s" % (node, tag)
    return payload if len(payload) <= HINT_PAYLOAD_LIMIT else "%s %s" % (node, tag.split(".")[0])


def _has_seq(members, host, seq):
    for member in members or []:
        if member["name"] == host:
            have = membership.decode(member["tags"].get(membership.HEALTH_TAG), [])[0]
            return have is not None and have >= seq
    return False


def _run_command(args):
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    return done.returncode, done.stdout, done.stderr


def main(argv):
    agent = Agent(argv[0] if argv else task.DEFAULT_STATE_DIR)
    signal.signal(signal.SIGTERM, lambda *_: agent.stop.set())
    signal.signal(signal.SIGINT, lambda *_: agent.stop.set())
    agent.run()
    return 0
