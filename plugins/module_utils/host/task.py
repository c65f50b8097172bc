# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A task's process, supervised: a systemd unit joined to the sandbox, or the fallback supervisor.

systemd (PID 1): one unit per task with NetworkNamespacePath= and Restart=always.
Elsewhere (containers, the lab hosts): a spec file per task that the swarmnet
supervisor (supervisor.py, started once per host) keeps running.
"""

from __future__ import annotations

import inspect
import os
import signal
import time

from ansible_collections.swarmnet.overlay.plugins.module_utils.host import files, supervisor
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import naming

DEFAULT_STATE_DIR = "/var/lib/swarmnet"
UNIT_DIR = "/etc/systemd/system"
UNIT_PREFIX = "swarmnet-task-"
SERF_TASK = "swarmnet-serf"       # the live layer's Serf agent, a task of its own (host/live.py)
SUPERVISOR_PROGRAM = "/opt/swarmnet/libexec/swarmnet-supervisor"
START_TIMEOUT = 15.0
RESERVED_PREFIX = "swarmnet"     # the collection's own supervised processes (the resolver)


class TaskError(Exception):
    pass


def systemd_is_pid1():
    """sd_booted(): systemd creates this directory when it runs the host."""
    return os.path.isdir("/run/systemd/system")


def unit_name(name):
    return UNIT_PREFIX + name + ".service"


def process_identity(pid):
    """(pid, start time) of a live process, None when it is gone or a zombie: a restarted task,
    even under a reused pid, has another identity."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError, TypeError):
        return None
    return None if fields[0] in ("Z", "X") else (pid, int(fields[19]))


def installed(state_dir=DEFAULT_STATE_DIR):
    """Names of the service tasks this host supervises, by either supervisor (the collection's
    own processes, named swarmnet-*, are not tasks of a service)."""
    names = set()
    if os.path.isdir(UNIT_DIR):
        names.update(f[len(UNIT_PREFIX):-len(".service")] for f in os.listdir(UNIT_DIR)
                     if f.startswith(UNIT_PREFIX) and f.endswith(".service"))
    tasks = supervisor.tasks_dir(state_dir)
    if os.path.isdir(tasks):
        names.update(f[:-5] for f in os.listdir(tasks) if f.endswith(".json"))
    return sorted(n for n in names if not n.startswith(RESERVED_PREFIX))


# ---- systemd -----------------------------------------------------------------

def _quoted(text):
    """systemd's double-quoted word: backslashes, quotes and % specifiers escaped. A unit file line
    cannot hold a newline, so control characters (a multi-line `python3 -c` script) go in as C
    escapes, which systemd unescapes."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    escaped = escaped.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    return '"%s"' % escaped


def _exec_quote(arg):
    """One ExecStart= argument ($ escaped too: systemd expands variables there)."""
    return _quoted(arg.replace("$", "$$"))


def _env_quote(name, value):
    """One Environment= assignment (systemd expands no $ there)."""
    return _quoted("%s=%s" % (name, value))


def _process_lines(spec):
    """The task's env, user and working directory, as systemd sets them (each only when given)."""
    return (["Environment=" + _env_quote(name, value) for name, value in sorted((spec.get("env") or {}).items())]
            + (["User=%s" % spec["user"]] if spec.get("user") is not None else [])
            + (["WorkingDirectory=%s" % spec["working_dir"]] if spec.get("working_dir") else []))


def unit_text(spec):
    # A user's task stops after Serf has left (systemd stops units in the reverse of their start
    # order): at a reboot the other hosts drop its backends before its process goes, instead of
    # sending it requests that meet a closed port.
    leave_first = [] if spec["name"].startswith(RESERVED_PREFIX) else ["Before=%s" % unit_name(SERF_TASK)]
    sandbox = []
    if spec.get("netns"):
        # The sandbox's network, and its resolver configuration as `ip netns exec` binds it.
        sandbox = ["NetworkNamespacePath=/run/netns/%s" % spec["netns"],
                   "BindReadOnlyPaths=-/etc/netns/%s/resolv.conf:/etc/resolv.conf" % spec["netns"]]
    program = ["# program %s" % spec["program"]] if spec.get("program") else []
    return "\n".join(
        ["# Managed by swarmnet.overlay (service_task): do not edit."]
        + program
        + ["[Unit]",
           "Description=swarmnet task %s of service %s" % (spec["name"], spec["service"]),
           # At boot the restore makes the sandbox first (restore_point). Ordering only, no
           # Wants=: a task restarted by a converge must not pull in a restore of the last state.
           "After=network.target %s" % naming.RESTORE_UNIT]
        + leave_first
        + ["",
           "[Service]"]
        + sandbox
        + _process_lines(spec)
        + ["ExecStart=" + " ".join(_exec_quote(a) for a in spec["command"])]
        + (["Nice=%d" % spec["nice"]] if spec.get("nice") is not None else [])
        # The unit counts as stopped only this long after its process has gone: what is ordered
        # to stop after it (Before=) waits so much more.
        + (["ExecStopPost=/bin/sleep %d" % spec["linger"]] if spec.get("linger") else [])
        + ["Restart=always",
           "RestartSec=1",
           "",
           "[Install]",
           "WantedBy=multi-user.target",
           ""])


# What ensure_present reads of a unit, in one `systemctl show`; the states `is-enabled` answers 0 for.
SHOWN = ("Id", "UnitFileState", "ActiveState", "MainPID")
ENABLED = frozenset(("enabled", "enabled-runtime", "static", "indirect", "generated", "alias", "transient"))


def parse_show(text, units):
    """{unit: {property: value}} from `systemctl show` of `units` (a block each, blank lines between)."""
    blocks = [dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
              for block in text.split("\n\n")]
    shown = {block["Id"]: block for block in blocks if "Id" in block}
    missing = [unit for unit in units if unit not in shown]
    if missing:
        raise TaskError("systemctl show: no state for %s" % ", ".join(missing))
    return shown


class Systemd:
    """Unit file + systemctl through the module's run_command."""

    kind = "systemd"

    def __init__(self, run_command, state_dir):
        self.run_command = run_command
        self._observed = {}     # unit: its state read by observe(), for the one ensure_present that follows

    def observe(self, names):
        """The units of the tasks `names` read in one systemctl run, for the ensure_present calls that follow
        (on an emulated host each systemctl run costs a quarter of a second)."""
        units = [unit_name(name) for name in names]
        try:
            self._observed.update(self._show(units) if units else {})
        except TaskError:
            pass        # each unit is read again on its own, where its error is reported as its item's

    def _show(self, units):
        rc, out, err = self._systemctl("show", "--property=" + ",".join(SHOWN), *units)
        if rc != 0:
            raise TaskError("systemctl show %s: %s" % (" ".join(units), err or out))
        return parse_show(out, units)

    def _state(self, unit):
        """The unit's state as observed, once (a unit read again after a change is read anew)."""
        return self._observed.pop(unit, None) or self._show([unit])[unit]

    def _systemctl(self, *args):
        rc, out, err = self.run_command(["systemctl"] + list(args))
        return rc, out.strip(), err.strip()

    def _checked(self, *args):
        rc, out, err = self._systemctl(*args)
        if rc != 0:
            raise TaskError("systemctl %s: %s" % (" ".join(args), err or out))

    def describe(self, name):
        return files.read(os.path.join(UNIT_DIR, unit_name(name))) or ""

    @staticmethod
    def render(spec):
        return unit_text(spec)

    def install(self, unit, text, changes, state=None):
        """The unit file written when it differs, and enabled; returns whether it was rewritten.
        `state`: the unit's, read before (else asked for)."""
        path = os.path.join(UNIT_DIR, unit)
        rewritten = files.read(path) != text
        if rewritten:
            changes("write %s" % path, files.write, path, text)
            changes("systemctl daemon-reload", self._checked, "daemon-reload")
        # --no-reload: the reload above (or the one that loaded the file before) is all systemd
        # needs; each reload costs seconds on a busy emulated host, and timed out there (25 s).
        # A loaded unit's UnitFileState is the one of its last reload, so after such an enable it
        # still says disabled: where it does, `is-enabled` reads the unit's links themselves.
        if (state or self._state(unit)).get("UnitFileState") not in ENABLED \
                and self._systemctl("is-enabled", "--quiet", unit)[0] != 0:
            changes("enable %s" % unit, self._checked, "enable", "--no-reload", unit)
        return rewritten

    def uninstall(self, unit, changes):
        """Stop, disable and remove the unit file, if it is there."""
        path = os.path.join(UNIT_DIR, unit)
        if os.path.exists(path):
            changes("stop and disable %s" % unit, self._checked, "disable", "--now", "--no-reload", unit)
            changes("remove %s" % path, os.unlink, path)
            changes("systemctl daemon-reload", self._checked, "daemon-reload")

    def ensure_present(self, spec, changes):
        unit = unit_name(spec["name"])
        state = self._state(unit)
        rewritten = self.install(unit, unit_text(spec), changes, state)
        # `is-active`'s two states: a unit reloading runs its process.
        active = state.get("ActiveState") in ("active", "reloading")
        if not active or rewritten:
            verb = "restart" if active else "start"
            changes("%s %s" % (verb, unit), self._checked, verb, unit)
            state = None
        if changes.check_mode:
            return None
        return _main_pid(state or self._state(unit))

    @staticmethod
    def resume(changes):
        """After a reboot systemd starts the task units itself, after swarmnet-restore.service."""

    def ensure_absent(self, name, changes):
        self.uninstall(unit_name(name), changes)

    def processes(self, names):
        """{name: process identity or None} of the tasks' main processes, read from their units' control
        groups (the live agent asks twice a second: no systemctl, no D-Bus round trip to PID 1)."""
        return {name: _unit_main_process(unit_name(name)) for name in names}


def _main_pid(state):
    pid = state.get("MainPID", "")
    return int(pid) if pid.isdigit() and int(pid) else None


CGROUP_ROOTS = ("/sys/fs/cgroup/system.slice", "/sys/fs/cgroup/systemd/system.slice")   # unified, then v1


def _unit_main_process(unit):
    """The first started process of a running unit's control group (a simple service's main process);
    None when the unit runs nothing (systemd removes its group when it stops)."""
    for root in CGROUP_ROOTS:
        try:
            with open(os.path.join(root, unit, "cgroup.procs")) as f:
                pids = [int(line) for line in f.read().split()]
        except (OSError, ValueError):
            continue
        alive = [identity for identity in map(process_identity, pids) if identity]
        return min(alive, key=lambda identity: identity[1]) if alive else None
    return None


# ---- fallback supervisor -------------------------------------------------------

def _alive(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return SUPERVISOR_PROGRAM.encode() in f.read()
    except (OSError, ValueError):
        return False


def supervisor_pid(state_dir):
    """The running supervisor's pid for this state directory, or None."""
    try:
        with open(supervisor.pidfile(state_dir)) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


class Supervisor:
    """Spec files the swarmnet supervisor keeps running."""

    kind = "swarmnet"

    def __init__(self, run_command, state_dir, python):
        self.state_dir, self.python = state_dir, python

    def _spec_path(self, name):
        return os.path.join(supervisor.tasks_dir(self.state_dir), name + ".json")

    def describe(self, name):
        return files.read(self._spec_path(name)) or ""

    @staticmethod
    def render(spec):
        return supervisor.spec_text(spec)

    def _start(self):
        source = inspect.getsource(supervisor)
        if files.read(SUPERVISOR_PROGRAM) != source:
            files.write(SUPERVISOR_PROGRAM, source, 0o755)
        os.makedirs(supervisor.tasks_dir(self.state_dir), exist_ok=True)
        pid = os.fork()
        if pid == 0:       # detach: the supervisor must outlive this module run
            try:
                os.setsid()
                devnull = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(devnull, fd)
                os.closerange(3, 65536)
                if os.fork() == 0:
                    os.execv(self.python, [self.python, SUPERVISOR_PROGRAM, self.state_dir])
            finally:
                os._exit(0)
        os.waitpid(pid, 0)

    def _wake(self):
        pid = supervisor_pid(self.state_dir)
        if pid is None:
            self._start()
        else:
            os.kill(pid, signal.SIGHUP)

    def _wait(self, name, done):
        deadline = time.time() + START_TIMEOUT
        while time.time() < deadline:
            status = supervisor.read_json(supervisor.status_path(self.state_dir, name))
            if done(status):
                return status
            # It may have exited just as it was woken (its last task gone): start it again.
            # A second one started by a race exits at once (it holds a lock).
            if supervisor_pid(self.state_dir) is None and os.path.exists(self._spec_path(name)):
                self._start()
                time.sleep(0.5)
            time.sleep(0.1)
        raise TaskError("the swarmnet supervisor did not act on task %s within %ds (see %s)"
                        % (name, START_TIMEOUT, supervisor.tasks_dir(self.state_dir)))

    @staticmethod
    def observe(names):
        """Nothing to read ahead: ensure_present reads the tasks' spec and status files."""

    def resume(self, changes):
        """After a reboot (or a lost supervisor): start it again when it has tasks to run."""
        specs = [e for e in os.listdir(supervisor.tasks_dir(self.state_dir)) if e.endswith(".json")] \
            if os.path.isdir(supervisor.tasks_dir(self.state_dir)) else []
        if specs and supervisor_pid(self.state_dir) is None:
            changes("start the swarmnet supervisor (%d tasks)" % len(specs), self._start)

    def ensure_present(self, spec, changes):
        digest = supervisor.spec_digest(spec)
        path = self._spec_path(spec["name"])
        if files.read(path) != supervisor.spec_text(spec):
            changes("write %s" % path, files.write, path, supervisor.spec_text(spec))
        status = supervisor.read_json(supervisor.status_path(self.state_dir, spec["name"]))
        running = supervisor_pid(self.state_dir) is not None
        if running and status and status.get("digest") == digest:
            return status["pid"]
        changes("start task %s in %s (swarmnet supervisor)" % (spec["name"], spec.get("netns") or "the host namespace"),
                self._wake)
        if changes.check_mode:
            return None
        return self._wait(spec["name"], lambda s: bool(s) and s.get("digest") == digest)["pid"]

    def ensure_absent(self, name, changes):
        path = self._spec_path(name)
        if os.path.exists(path):
            changes("remove %s" % path, os.unlink, path)
        status = supervisor.status_path(self.state_dir, name)
        if os.path.exists(status):
            if supervisor_pid(self.state_dir) is None:
                changes("forget %s (its supervisor is gone)" % status, os.unlink, status)
            else:
                changes("stop task %s" % name, self._wake)
                if not changes.check_mode:
                    self._wait(name, lambda s: s is None)
        log = os.path.join(supervisor.tasks_dir(self.state_dir), name + ".log")
        if os.path.exists(log):
            changes("remove %s" % log, os.unlink, log)

    def processes(self, names):
        """{name: process identity or None} from the supervisor's status files."""
        found = {}
        for name in names:
            status = supervisor.read_json(supervisor.status_path(self.state_dir, name)) or {}
            found[name] = process_identity(status["pid"]) if isinstance(status.get("pid"), int) else None
        return found


def backend(kind, run_command, state_dir, python):
    """The supervisor to use: kind is auto, systemd or swarmnet."""
    if kind == "auto":
        kind = "systemd" if systemd_is_pid1() else "swarmnet"
    if kind == "systemd":
        if not systemd_is_pid1():
            raise TaskError("supervisor=systemd: systemd is not PID 1 on this host (use auto or swarmnet)")
        return Systemd(run_command, state_dir)
    return Supervisor(run_command, state_dir, python)
