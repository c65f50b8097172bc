# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a rollout waits for on a host, read from the live agent's facts and balancing records.

- drained: this host sends a set of tasks no traffic (its facts call them not healthy and its
  kernel balancing is what the facts say);
- serving: it sends them traffic again (healthy, and applied);
- stable: on the tasks' own host, each is healthy underneath any hold, with the same process,
  for `monitor` seconds (a command that exits at once never is).

The conditions are pure functions over the facts (availability.read()) and the records
(lb_records.records()), so they are unit-tested; until() polls one. The live_wait module
waits for any of them, the task_hold module for drained or serving right after it holds or
lets tasks back (one module run instead of two per step of a rollout).
"""

from __future__ import annotations

import time

from ansible_collections.swarmnet.overlay.plugins.module_utils.live import availability, lb_records

DRAINED, SERVING, STABLE = "drained", "serving", "stable"
CONDITIONS = (DRAINED, SERVING, STABLE)
NO_FACTS = "the live agent of this host has no fresh facts (is it running?)"
POLL = 0.2      # seconds between two looks: the agent switches a sandbox in tens of milliseconds
# A module option's items that name a task of any host, as a rollout step lists them.
TASK_OPTIONS = dict(host=dict(type="str", required=True), name=dict(type="str", required=True))


def until(look, timeout, given_up=lambda: False, clock=time.monotonic, sleep=time.sleep):
    """Calls look(now) until it returns nothing pending, given_up() says it never will, or `timeout`
    seconds have passed. Returns (pending, seconds waited): pending is [] on success."""
    start = clock()
    while True:
        now = clock()
        pending = look(now)
        if not pending or given_up() or now - start >= timeout:
            return pending, now - start
        sleep(POLL)


def traffic(state_dir, tasks, condition):
    """A look() for until(): what keeps `tasks` ({(host, name)}) from being `condition` (DRAINED or
    SERVING) on this host, from its agent's facts and balancing records as they are on disk now."""
    check = not_drained if condition == DRAINED else not_serving
    return lambda _now: check(tasks, availability.read(state_dir), lb_records.records(state_dir))


def failure(condition, pending, waited):
    """The message of a wait that ended with `pending` [(what, why)] after `waited` ("60s", ...)."""
    return "not %s after %s: %s" % (condition, waited, "; ".join("%s: %s" % item for item in pending))


def lagging(records, tasks, facts):
    """Sandboxes balancing a backend of `tasks` ({(host, name)}) whose kernel is not yet what the facts say."""
    out = []
    for sandbox, record in sorted(records.items()):
        planned = record.get("planned") or []
        if any((b.get("host"), b.get("task")) in tasks for svc in planned for b in svc.get("backends") or []) \
                and availability.mask_backends(planned, facts) != record.get("applied"):
            out.append(sandbox)
    return out


def _traffic(tasks, facts, records, want_healthy):
    if facts is None:
        return [("facts", NO_FACTS)]
    out = []
    for host, name in sorted(tasks):
        state = (facts.get("tasks", {}).get(host) or {}).get(name)
        if (state == availability.HEALTHY) != want_healthy:
            out.append(("%s on %s" % (name, host), "%s here" % (state or "unknown")))
    return out + [(sandbox, "balancing not applied yet") for sandbox in lagging(records, tasks, facts)]


def not_drained(tasks, facts, records):
    """[(what, why)] this host still sends traffic to; [] once drained."""
    return _traffic(tasks, facts, records, want_healthy=False)


def not_serving(tasks, facts, records):
    """[(what, why)] this host does not send traffic to yet; [] once serving."""
    return _traffic(tasks, facts, records, want_healthy=True)


class Stability:
    """Tracks, across looks at the facts, since when each local task has been healthy with one process."""

    def __init__(self, monitor):
        self.monitor = monitor
        self.since = {}         # name -> (process, since)
        self.seen = {}          # name -> every process seen (a command that exits at once shows many)
        self.exited = set()     # names whose started process is gone: they can never be stable

    def pending(self, names, facts, now, pids=None, alive=None):
        """[(what, why)] of `names` not yet stable; [] once all are. `pids` ({name: pid}) names the process
        each must be (the one just started): until the agent reports that one, the task is not stable,
        so an agent slow to see a restart cannot pass the old process off as the new one. `alive(pid)`
        says whether that process still runs: once it has gone the task is in `exited` (as Swarm, a
        task that exits within `monitor` fails the update; there is no need to wait any longer)."""
        if facts is None:
            return [("facts", NO_FACTS)]
        out = []
        for name in sorted(names):
            wanted = (pids or {}).get(name)
            if wanted is not None and alive is not None and not alive(wanted):
                self.exited.add(name)
                out.append((name, "the process started (pid %d) exited" % wanted))
                continue
            report = (facts.get("local") or {}).get(name) or {}
            process = tuple(report.get("process") or ())
            if process:
                self.seen.setdefault(name, set()).add(process)
            if report.get("state") != availability.HEALTHY:
                self.since.pop(name, None)
                output = (" (%s)" % report["output"].strip()) if (report.get("output") or "").strip() else ""
                started = len(self.seen.get(name, ()))
                restarts = ", %d processes started and gone meanwhile" % started if started > 1 else ""
                out.append((name, "%s%s%s" % (report.get("state") or "unknown to the agent", output, restarts)))
                continue
            if wanted is not None and process[:1] != (wanted,):
                self.since.pop(name, None)
                out.append((name, "process %s is not the one started (%s)" % (process[0] if process else None, wanted)))
                continue
            seen = self.since.get(name)
            if seen is None or seen[0] != process:
                seen = self.since[name] = (process, now)
            if now - seen[1] < self.monitor:
                out.append((name, "healthy for %.1fs of %gs" % (now - seen[1], self.monitor)))
        return out


def running(pid):
    """Whether process `pid` runs (a zombie, exited but not yet reaped, does not)."""
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii", errors="replace") as stat:
            return stat.read().rpartition(")")[2].split()[:1] != ["Z"]
    except OSError:
        return False


def stable(state_dir, names_of, pids, monitor, timeout):
    """Waits until each of this host's tasks named by names_of(facts) is stable (with the process in `pids`,
    where given), or fails fast once a started process exited. Returns (pending, seconds waited, message or
    None)."""
    stability = Stability(monitor)

    def look(now):
        facts = availability.read(state_dir)
        return stability.pending(names_of(facts), facts, now, pids, running)
    pending, waited = until(look, timeout, given_up=lambda: bool(stability.exited))
    if not pending:
        return pending, waited, None
    took = ("%gs" % timeout) if not stability.exited else ("%.1fs (a started process exited)" % waited)
    return pending, waited, failure(STABLE, pending, took)
