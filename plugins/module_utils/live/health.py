# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Task health with Docker's semantics: the healthcheck a service declares, and one task's state.

Pure Python (the plan validates with it, the live agent runs it). A healthcheck is a
`test` command run in the task's sandbox, a `tcp` port or an `http` path and port, with
Docker's `interval`, `timeout`, `retries`, `start_period` and `start_interval`. A task is
unhealthy after `retries` failures in a row and healthy again after one success; failures
in the start period do not count while it has not passed yet. Without a healthcheck a task
is healthy while its process runs. A task (re)started is `starting`, and gets no traffic,
until it first passes.
"""

from __future__ import annotations

import re

HEALTHY, STARTING, UNHEALTHY, STOPPED = "healthy", "starting", "unhealthy", "stopped"
# Docker's defaults (docker run --health-*).
DEFAULTS = {"interval": 30.0, "timeout": 30.0, "retries": 3, "start_period": 0.0, "start_interval": 5.0}
KEYS = ("test", "tcp", "http", "interval", "timeout", "retries", "start_period", "start_interval", "disable")
HTTP_KEYS = ("port", "path")
PROBE_KINDS = ("exec", "tcp", "http")      # what normalise() gives as a check's `kind`
MIN_INTERVAL = 1.0
OUTPUT_LIMIT = 200          # characters of a probe's output kept for overlay_info
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_RE = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$")
_PART_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def duration(value):
    """Seconds from a number or a Go-style duration (`1s`, `500ms`, `1m30s`); None when neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if re.match(r"^\d+(\.\d+)?$", text):
            return float(text)
        if _DURATION_RE.match(text):
            return sum(float(n) * _UNITS[unit] for n, unit in _PART_RE.findall(text))
    return None


def _port(value):
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        return None
    return value


def _command(test):
    """Docker's test forms: a string or [CMD-SHELL, s] (shell), [CMD, arg, ...], [NONE]; or a plain argv."""
    if isinstance(test, str) and test.strip():
        return ["/bin/sh", "-c", test]
    if not isinstance(test, list) or not test or not all(isinstance(a, str) for a in test):
        return None
    if test[0] == "NONE" and len(test) == 1:
        return []
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", test[1]] if len(test) == 2 and test[1].strip() else None
    argv = test[1:] if test[0] == "CMD" else test
    return argv or None


def _probe(check, add):
    """The one probe a healthcheck names: {kind, command | port, path}; None for test [NONE]."""
    given = [key for key in ("test", "tcp", "http") if key in check]
    if len(given) != 1:
        add("", check, "give exactly one of test, tcp or http (or disable: true)")
        return None
    key = given[0]
    if key == "test":
        argv = _command(check["test"])
        if argv is None:
            add(".test", check["test"], "a command: a string (run by /bin/sh), [CMD, arg, ...], "
                                        "[CMD-SHELL, string] or [NONE]")
        return {"kind": "exec", "command": argv} if argv else None
    if key == "tcp":
        port = _port(check["tcp"])
        if port is None:
            add(".tcp", check["tcp"], "not a port (1-65535)")
        return {"kind": "tcp", "port": port}
    http = check["http"]
    if not isinstance(http, dict):
        add(".http", http, "must be a mapping {port, path}")
        return None
    for unknown in sorted(set(http) - set(HTTP_KEYS)):
        add(".http." + unknown, http[unknown], "unknown key (known: %s)" % ", ".join(HTTP_KEYS))
    port, path = _port(http.get("port")), http.get("path", "/")
    if port is None:
        add(".http.port", http.get("port"), "not a port (1-65535)")
    if not isinstance(path, str) or not path.startswith("/") or any(c in path for c in " \r\n"):
        add(".http.path", path, "a URL path starting with / (no spaces)")
    return {"kind": "http", "port": port, "path": path}


def normalise(check, add):
    """A validated healthcheck, or None for none (absent, `disable: true` or test [NONE]) or when refused.

    `add(key_suffix, value, why)` receives each problem; the suffix follows `.healthcheck`."""
    if check is None:
        return None
    problems = []

    def note(key, value, why):
        problems.append(key)
        add(key, value, why)

    if not isinstance(check, dict):
        note("", check, "must be a mapping (test | tcp | http, interval, timeout, retries, start_period, "
                        "start_interval, disable)")
        return None
    for unknown in sorted(set(check) - set(KEYS)):
        note("." + unknown, check[unknown], "unknown key (known: %s)" % ", ".join(KEYS))
    if check.get("disable", False) is True:
        return None
    if check.get("disable", False) is not False:
        note(".disable", check["disable"], "must be true or false")
    probe = _probe(check, note)
    timing = {}
    for key in ("interval", "timeout", "start_period", "start_interval"):
        seconds = duration(check.get(key, DEFAULTS[key]))
        if seconds is None or seconds < 0:
            note("." + key, check.get(key), "a duration: seconds, or a string such as 1s, 500ms, 1m30s")
        timing[key] = seconds
    if "timeout" not in check and timing["interval"] is not None:
        timing["timeout"] = min(DEFAULTS["timeout"], timing["interval"])     # a probe ends before the next
    retries = check.get("retries", DEFAULTS["retries"])
    if isinstance(retries, str) and retries.strip().isdigit():
        retries = int(retries)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 1:
        note(".retries", check.get("retries"), "must be an integer of 1 or more")
    for key in ("interval", "start_interval"):
        if timing[key] is not None and 0 <= timing[key] < MIN_INTERVAL:
            note("." + key, check.get(key), "must be at least %gs" % MIN_INTERVAL)
    if timing["timeout"] is not None and timing["timeout"] == 0:
        note(".timeout", check.get("timeout"), "must be more than 0")
    elif None not in (timing["timeout"], timing["interval"]) and timing["timeout"] > timing["interval"]:
        note(".timeout", check.get("timeout"),
             "must not be longer than the interval (%gs): probes start every interval" % timing["interval"])
    if problems or probe is None:
        return None
    return dict(probe, retries=retries, **timing)


class TaskHealth:
    """One task's health; the caller passes the clock (seconds) in, so it is testable."""

    def __init__(self, check, supervised, now):
        self.check = check              # normalise()'s result, or None
        self.supervised = supervised    # False: a namespace the collection does not run (no process to watch)
        self.process = None
        self.started = now
        self.failures = 0
        self.output = ""
        self.since = now
        self.probing = False
        self.last_probe = None
        if supervised:
            self.state, self.next_probe = STOPPED, None
        else:
            self.state = STARTING if check else HEALTHY
            self.next_probe = now + self._interval(now) if check else None

    def _set(self, state, now):
        if state != self.state:
            self.state, self.since = state, now

    def _in_start_period(self, now):
        return self.state == STARTING and now - self.started < self.check["start_period"]

    def _interval(self, now):
        if self.check["start_period"] > 0 and self._in_start_period(now):
            return self.check["start_interval"]
        return self.check["interval"]

    def observe(self, process, now):
        """The task's process as found now: an identity (pid and start) or None when none runs."""
        if not self.supervised or process == self.process:
            return
        self.process = process
        if process is None:
            self.next_probe = None
            self._set(STOPPED, now)
            return
        self.started, self.failures, self.output = now, 0, ""
        if self.check is None:
            self._set(HEALTHY, now)
            return
        self._set(STARTING, now)
        self.next_probe = now + self._interval(now)

    def due(self, now):
        """Whether a probe should start now (the caller runs it and reports with result())."""
        return self.check is not None and not self.probing and self.next_probe is not None \
            and now >= self.next_probe and (self.process is not None or not self.supervised)

    def probe_started(self, now):
        self.probing = True
        self.last_probe = now
        self.next_probe = now + self._interval(now)      # probes start every interval, not after one ends

    def discard_probe(self):
        """The probe that ran was of a process that is gone: its outcome says nothing, the next probe is due."""
        self.probing = False

    def result(self, ok, output, now):
        self.probing = False
        if self.supervised and self.process is None:
            return                                      # the process went while the probe ran
        self.output = (output or "")[-OUTPUT_LIMIT:]
        if ok:
            self.failures = 0
            self._set(HEALTHY, now)
            self.next_probe = self.last_probe + self._interval(now)     # out of the start period: interval
            return
        if self._in_start_period(now):
            return                                      # Docker: not counted until the task first passes
        self.failures += 1
        if self.failures >= self.check["retries"]:
            self._set(UNHEALTHY, now)

    @property
    def healthy(self):
        return self.state == HEALTHY

    def report(self):
        """What the agent keeps (times on the monotonic clock the caller passes in, which is per boot)."""
        return {"state": self.state, "failures": self.failures, "output": self.output,
                "process": list(self.process) if self.process else None,
                "monotonic_since": self.since, "started": self.started}

    def carry_over(self, report, process, now):
        """Take a report() from before a restart of the agent, when the task's process is still the one
        it describes (an explicit task has none): its health stands until the next probe says otherwise."""
        reported = tuple(report.get("process") or ()) or None
        if self.supervised and (reported is None or reported != process):
            return False
        self.process, self.state, self.failures = reported, report["state"], report.get("failures", 0)
        self.output = report.get("output", "")
        self.since, self.started = report.get("monotonic_since", now), report.get("started", now)
        self.next_probe = now + self._interval(now) if self.check else None
        return True
