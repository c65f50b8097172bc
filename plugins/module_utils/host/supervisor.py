# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fallback task supervisor, for hosts where systemd is not PID 1.

This file is also the program itself: service_task writes its source to the host
and starts it once (it needs nothing but the Python standard library and iproute2).
It keeps every task spec in STATE_DIR/tasks/*.json running in its sandbox
(or in the host namespace when the spec names none),
restarts a task that exits (with a back-off for tasks that exit at once), stops
tasks whose spec is removed or changed, and writes each task's pid to
STATE_DIR/tasks/NAME.status. SIGHUP re-reads the specs at once; SIGTERM stops
every task and the supervisor. With no spec left it exits by itself.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pwd
import signal
import subprocess
import sys
import time

PROGRAM_NAME = "swarmnet-supervisor"
STOP_TIMEOUT = 5.0
TICK = 0.2
MAX_BACKOFF = 10.0
STEADY_AFTER = 10.0       # a task that ran this long restarts without back-off


def spec_digest(spec):
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def spec_text(spec):
    return json.dumps(spec, sort_keys=True, indent=1) + "\n"


def tasks_dir(state_dir):
    return os.path.join(state_dir, "tasks")


def pidfile(state_dir):
    return os.path.join(state_dir, "supervisor.pid")


def status_path(state_dir, name):
    return os.path.join(tasks_dir(state_dir), name + ".status")


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_json(path, data):
    tmp = "%s.tmp%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(spec_text(data))
    os.replace(tmp, path)


def remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def user_entry(user):
    """The passwd entry of a user name or numeric id; KeyError when the host has none."""
    return pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)


def process_start(spec):
    """(argv prefix, environment, working directory) of the task's process: its env added to the
    supervisor's, and with a user, that user's ids, groups and HOME/USER/LOGNAME as systemd's User= gives."""
    env, prefix = dict(os.environ, **(spec.get("env") or {})), []
    if spec.get("user") is not None:
        entry = user_entry(spec["user"])
        # Entered last, after `ip netns exec` (which needs root), straight into the command.
        prefix = ["setpriv", "--reuid=%d" % entry.pw_uid, "--regid=%d" % entry.pw_gid, "--init-groups", "--"]
        env.update(HOME=entry.pw_dir, USER=entry.pw_name, LOGNAME=entry.pw_name)
    return prefix, env, spec.get("working_dir") or "/"


def _specs(state_dir):
    found = {}
    for entry in sorted(os.listdir(tasks_dir(state_dir))):
        if entry.endswith(".json"):
            spec = read_json(os.path.join(tasks_dir(state_dir), entry))
            if isinstance(spec, dict) and spec.get("name") == entry[:-5]:
                found[spec["name"]] = spec
    return found


class Task:
    def __init__(self, state_dir, spec, restarts=0):
        self.spec, self.digest, self.restarts = spec, spec_digest(spec), restarts
        log = open(os.path.join(tasks_dir(state_dir), spec["name"] + ".log"), "ab")
        # `ip netns exec` also binds /etc/netns/NETNS/resolv.conf over /etc/resolv.conf (service
        # discovery); a spec without netns runs in the host namespace (the resolver itself).
        enter = ["ip", "netns", "exec", spec["netns"]] if spec.get("netns") else []
        try:
            as_user, env, cwd = process_start(spec)
            self.proc = subprocess.Popen(
                enter + as_user + spec["command"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=env, cwd=cwd, close_fds=True, start_new_session=True)
        except (KeyError, OSError) as exc:     # a user or directory gone since the module checked
            log.write(("swarmnet-supervisor: cannot start %s: %s\n" % (spec["name"], exc)).encode())
            self.proc = subprocess.Popen(["false"], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
        log.close()
        if spec.get("nice") is not None:
            try:
                os.setpriority(os.PRIO_PROCESS, self.proc.pid, spec["nice"])
            except OSError:
                pass            # no CAP_SYS_NICE (a container): it runs at the default priority
        self.started, self.exited = time.time(), None
        write_json(status_path(state_dir, spec["name"]),
                   {"pid": self.proc.pid, "digest": self.digest, "restarts": restarts, "started": self.started})

    def next_start(self):
        ran = self.exited - self.started
        if ran >= STEADY_AFTER:
            return self.exited + 1.0
        return self.exited + min(MAX_BACKOFF, 0.5 * 2 ** min(self.restarts, 5))

    def stop(self):
        """SIGTERM the task's process group, SIGKILL it after STOP_TIMEOUT."""
        if self.proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, STOP_TIMEOUT)):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue


def _single_instance(state_dir):
    """An exclusive lock on the tasks directory for the supervisor's life (no lock file to
    leave behind): a second supervisor started by a race exits at once."""
    fd = os.open(tasks_dir(state_dir), os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def run(state_dir):
    os.makedirs(tasks_dir(state_dir), exist_ok=True)
    lock = _single_instance(state_dir)
    if lock is None:
        return
    flags = {"reload": True, "stop": False}
    signal.signal(signal.SIGHUP, lambda *_: flags.update(reload=True))
    signal.signal(signal.SIGTERM, lambda *_: flags.update(stop=True))
    signal.signal(signal.SIGINT, lambda *_: flags.update(stop=True))
    with open(pidfile(state_dir), "w") as f:
        f.write("%d\n" % os.getpid())
    tasks = {}
    try:
        while not flags["stop"]:
            flags["reload"] = False
            specs = _specs(state_dir)
            for name in sorted(tasks):
                if name not in specs or spec_digest(specs[name]) != tasks[name].digest:
                    tasks.pop(name).stop()
                    remove(status_path(state_dir, name))
            if not specs:
                break
            now = time.time()
            for name, spec in sorted(specs.items()):
                task = tasks.get(name)
                if task is not None and task.proc.poll() is None:
                    continue
                if task is not None and task.exited is None:
                    task.exited = now
                if task is None or now >= task.next_start():
                    tasks[name] = Task(state_dir, spec, 0 if task is None else task.restarts + 1)
            deadline = time.time() + 1.0
            while time.time() < deadline and not flags["reload"] and not flags["stop"]:
                time.sleep(TICK)
    finally:
        for name, task in sorted(tasks.items()):
            task.stop()
            remove(status_path(state_dir, name))
        remove(pidfile(state_dir))
        os.close(lock)


if __name__ == "__main__":
    sys.argv[0] = PROGRAM_NAME
    run(sys.argv[1])
