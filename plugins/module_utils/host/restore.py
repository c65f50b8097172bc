# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Persist + restore: what a host last converged to, kept on disk and made again at boot.

Kernel objects (namespaces, links, FDB and neighbour entries, nftables tables,
IPVS services) do not survive a reboot; files do. The restore_point module keeps
the host's part of the last applied plan in STATE_DIR/applied.json and deploys
the boot program (restore_boot.py), with every module_utils file it imports, under
LIB_DIR. At boot swarmnet-restore.service runs ENTRY_POINT, which makes the objects
again, in the roles' order, with the same code the roles' modules use; task units
(and the resolver's) are ordered after it, so they start in sandboxes that exist.
Without systemd (the lab hosts) the entry point is run by hand and also starts
the swarmnet task supervisor, which starts the tasks and the resolver.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

from ansible_collections.swarmnet.overlay.plugins.module_utils.host import applied, deploy, files
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import naming

if TYPE_CHECKING:
    # Never run: it makes Ansible pack the boot program with restore_point (Ansible follows a module's
    # imports wherever they stand), and program_files() reads it from there.
    from ansible_collections.swarmnet.overlay.plugins.module_utils.host import restore_boot  # noqa: F401 pylint: disable=unused-import

FORMAT = 2
LIB_DIR = deploy.LIB_DIR
ENTRY_POINT = os.path.join(deploy.LIBEXEC, "swarmnet-restore")
UNIT = naming.RESTORE_UNIT
PROGRAM = deploy.PACKAGE + ".host.restore_boot"
# The plan's parts that describe what exists (the rest says what to remove or drain).
KEPT = ("advertise_addr", "networks", "sandboxes", "peers", "lb", "tasks", "firewall",
        "gwbridge", "mesh", "encryption")


class RestoreError(Exception):
    pass


def applied_path(state_dir):
    return applied.path(state_dir)


def saved_text(desired, firewall_table, firewall_state, lb_backend, supervisor, python):
    """applied.json: the host's plan (what exists) and the role settings that shape it."""
    return json.dumps({
        "format": FORMAT,
        "desired": {key: desired.get(key) for key in KEPT},
        "firewall": {"table": firewall_table, "state": firewall_state},
        "lb_backend": lb_backend,
        "supervisor": supervisor,
        "python": python,
    }, sort_keys=True, indent=1) + "\n"


def load(state_dir):
    text = files.read(applied_path(state_dir))
    if text is None:
        raise RestoreError("%s does not exist: this host was never converged" % applied_path(state_dir))
    saved = json.loads(text)
    if saved.get("format") != FORMAT:
        raise RestoreError("%s: format %r, this program reads %d"
                           % (applied_path(state_dir), saved.get("format"), FORMAT))
    return saved


# ---- deployment: the boot program and what it imports, as a package tree under LIB_DIR ----

def program_files(python):
    """{path: text}: the boot program (restore_boot) and the module_utils it imports, its entry point."""
    return dict(deploy.program_files(PROGRAM), **{ENTRY_POINT: entry_point_text(python)})


def entry_point_text(python):
    return deploy.entry_point_text(python, PROGRAM,
                                   "Makes this host's overlays, sandboxes, peers, balancing and mesh again")


def unit_text(state_dir):
    return "\n".join([
        "# Managed by swarmnet.overlay (restore_point): do not edit.",
        "[Unit]",
        "Description=swarmnet: make this host's overlays and services again after boot",
        "After=network.target",
        "",
        "[Service]",
        "Type=oneshot",
        "RemainAfterExit=yes",
        "ExecStart=%s %s" % (ENTRY_POINT, state_dir),
        "",
        "[Install]",
        "WantedBy=multi-user.target",
    ]) + "\n"
