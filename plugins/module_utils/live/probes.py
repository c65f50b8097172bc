# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One health probe of a task, from inside its sandbox (as Docker runs a healthcheck in the container).

`exec` runs the test command in the sandbox (`ip netns exec`, so it resolves through the
sandbox's resolver too) and passes on exit status 0. `tcp` passes when a connection to the
task's address and port opens; `http` when a GET of the path answers 200-399. The address is
the task's own on its service's first network, the one the VIP balances to. Every probe
ends within its timeout; a probe that does not is a failure.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import time

from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import thread_netns

USER_AGENT = "swarmnet-health"


def _connect(sandbox, address, port, timeout):
    with thread_netns.inside(sandbox):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect((address, port))
    except OSError:
        sock.close()
        raise
    return sock


def _http(sandbox, address, port, path, timeout):
    deadline = time.monotonic() + timeout
    sock = _connect(sandbox, address, port, timeout)
    sock.settimeout(max(0.01, deadline - time.monotonic()))    # the whole probe within the timeout
    conn = http.client.HTTPConnection(address, port)
    conn.sock = sock
    try:
        conn.request("GET", path, headers={"User-Agent": USER_AGENT, "Connection": "close"})
        reply = conn.getresponse()
        reply.read(4096)
    finally:
        conn.close()
    ok = 200 <= reply.status < 400
    return ok, "HTTP %d %s" % (reply.status, reply.reason)


def exec_argv(sandbox, argv, own_nice):
    """The command of an exec probe: in the sandbox, at the default priority even when the agent
    runs ahead of the tasks (`own_nice` < 0). A healthcheck is the task's work, as Docker runs it in
    the container; at the agent's priority, a busy host's probes would starve the tasks they test."""
    back = ["nice", "-n", str(-own_nice)] if own_nice < 0 else []
    return back + ["ip", "netns", "exec", sandbox] + argv


def _exec(sandbox, argv, timeout):
    proc = subprocess.Popen(exec_argv(sandbox, argv, os.getpriority(os.PRIO_PROCESS, 0)), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return False, "timed out after %gs" % timeout
    text = out.decode(errors="replace").strip()
    return proc.returncode == 0, ("exit %d: %s" % (proc.returncode, text)).strip()


def run(check, sandbox, address):
    """(passed, what it saw) of one probe of `check` (health.normalise()'s form)."""
    timeout = check["timeout"]
    try:
        if check["kind"] == "exec":
            return _exec(sandbox, check["command"], timeout)
        if check["kind"] == "tcp":
            _connect(sandbox, address, check["port"], timeout).close()
            return True, "connected to %s:%d" % (address, check["port"])
        return _http(sandbox, address, check["port"], check["path"], timeout)
    except socket.timeout:
        return False, "timed out after %gs" % timeout
    except (OSError, http.client.HTTPException) as exc:
        return False, "%s: %s" % (type(exc).__name__, exc)
