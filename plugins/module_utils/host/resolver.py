# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The resolver of a host, deployed: its program, its records, the sandboxes' resolv.conf.

The resolver (dns_server.py) runs supervised like a task, in the host namespace.
Records live in STATE_DIR/dns.json; a change is written and the running resolver
is sent SIGHUP, so answers change at once with no restart. Each sandbox's
/etc/netns/NAME/resolv.conf points at 127.0.0.11 (`ip netns exec` and the task
units bind it over /etc/resolv.conf).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import signal
import time

from ansible_collections.swarmnet.overlay.plugins.module_utils.host import dns_server, files
from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import thread_netns
from ansible_collections.swarmnet.overlay.plugins.module_utils.live import availability
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import dns_records

PROGRAM_DIR = "/opt/swarmnet/libexec/swarmnet_dns"
TASK_NAME = "swarmnet-dns"
NETNS_ETC = "/etc/netns"
MARK = "# swarmnet service discovery"


def program_files():
    """{path: source} of the resolver program (the same code the tests import)."""
    return {os.path.join(PROGRAM_DIR, module.__name__.rsplit(".", 1)[-1] + ".py"): inspect.getsource(module)
            for module in (dns_server, dns_records, availability, thread_netns)}


def task_spec(python, state_dir, sources):
    """The resolver as a supervised task; its digest follows the program, so a new one restarts it."""
    digest = hashlib.sha256("".join(sources[p] for p in sorted(sources)).encode()).hexdigest()[:12]
    return {"name": TASK_NAME, "service": "swarmnet", "netns": None, "program": digest,
            "command": [python, os.path.join(PROGRAM_DIR, "dns_server.py"), state_dir]}


def config_text(sandboxes, services, upstreams, ttl, domain, timeout):
    return json.dumps({"sandboxes": sandboxes, "services": services, "upstreams": upstreams,
                       "ttl": ttl, "domain": domain, "timeout": timeout}, sort_keys=True, indent=1) + "\n"


def resolv_conf(domain):
    lines = [MARK, "nameserver %s" % dns_server.ADDRESS]
    if domain:
        lines.append("search %s" % domain)
    lines.append("options ndots:0")
    return "\n".join(lines) + "\n"


def host_upstreams(path="/etc/resolv.conf"):
    """The host's nameservers (IPv4), never the sandboxes' own address."""
    found = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver" and ":" not in parts[1] \
                        and parts[1] != dns_server.ADDRESS:
                    found.append(parts[1])
    except FileNotFoundError:
        pass
    return found


def ours(sandbox):
    """Whether /etc/netns/SANDBOX/resolv.conf is the collection's."""
    text = files.read(os.path.join(NETNS_ETC, sandbox, "resolv.conf"))
    return text is not None and text.startswith(MARK)


def managed_sandboxes():
    if not os.path.isdir(NETNS_ETC):
        return []
    return sorted(name for name in os.listdir(NETNS_ETC) if ours(name))


def remove_resolv_conf(sandbox):
    directory = os.path.join(NETNS_ETC, sandbox)
    os.unlink(os.path.join(directory, "resolv.conf"))
    if not os.listdir(directory):
        os.rmdir(directory)


def ensure_resolv_confs(sandboxes, domain, changes):
    wanted = {os.path.join(NETNS_ETC, name, "resolv.conf"): resolv_conf(domain) for name in sandboxes}
    files.ensure(wanted, changes)
    for name in managed_sandboxes():
        if name not in sandboxes:
            changes("remove %s/%s/resolv.conf" % (NETNS_ETC, name), remove_resolv_conf, name)


def reload(pid):
    """SIGHUP: the resolver re-reads its records at once."""
    os.kill(pid, signal.SIGHUP)


def served(state_dir):
    """What the running resolver serves: {"digest", "sandboxes"}, or {} before it has loaded anything."""
    try:
        return json.loads(files.read(dns_server.loaded_path(state_dir)) or "{}")
    except ValueError:
        return {}


# A new resolver imports dnslib and opens a socket pair per sandbox: under load (twelve lab hosts
# starting theirs at once on two cores) that took over 10 s.
LOAD_WAIT = 30.0


def wait_served(state_dir, text, sandboxes, timeout=LOAD_WAIT):
    """Until the resolver serves exactly `text` with sockets in each of `sandboxes` that exists."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        now = served(state_dir)
        if now.get("digest") == dns_server.digest(text) and \
                not {s for s in sandboxes if dns_server.netns_id(s)} - set(now.get("sandboxes") or []):
            return True
        time.sleep(0.05)
    return False


def remove_program(changes):
    if os.path.isdir(PROGRAM_DIR):
        changes("remove %s" % PROGRAM_DIR, files.remove_tree, PROGRAM_DIR)


def forget_loaded(changes, state_dir):
    """The host's note of what its resolver served: gone with the resolver, whatever the program."""
    marker = dns_server.loaded_path(state_dir)
    if os.path.exists(marker):
        changes("remove %s" % marker, os.unlink, marker)
