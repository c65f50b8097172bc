# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: netns
short_description: Run tasks inside a lab host made of namespaces
description:
  - Runs every command of a task inside a lab host created by M(swarmnet.overlay.lab_hosts), entering
    its network namespace plus the mount and UTS namespaces that give it its own C(/sys),
    C(/run/netns) and host name. Facts describe the lab host, and namespaces created by modules
    stay usable afterwards, because nothing runs in a throwaway mount namespace.
  - Files are copied as by the C(local) connection (the lab host shares the machine's file system).
author: swarmnet developers (@swarmnet)
version_added: 0.1.0
extends_documentation_fragment:
  - connection_pipelining
options:
  netns:
    description: Network namespace of the host (under C(/run/netns)). Default is C(ansible_host).
    type: str
    vars:
      - name: ansible_netns_name
  lab_dir:
    description: Directory holding C(NETNS.mnt) and C(NETNS.uts), the host's mount and UTS namespaces.
    type: str
    default: /run/swarmnet-lab
    vars:
      - name: ansible_netns_lab_dir
"""

import os
import shlex

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.connection.local import Connection as LocalConnection


class Connection(LocalConnection):
    """The local connection, with every command wrapped in nsenter."""

    transport = "swarmnet.overlay.netns"
    has_pipelining = True

    def _namespace_args(self):
        name = self.get_option("netns") or self._play_context.remote_addr
        ns_path = os.path.join("/run/netns", name)
        lab_dir = self.get_option("lab_dir")
        mnt, uts = os.path.join(lab_dir, name + ".mnt"), os.path.join(lab_dir, name + ".uts")
        for path in (ns_path, mnt, uts):
            if not os.path.exists(path):
                raise AnsibleConnectionFailure(
                    "lab host %s: %s is missing; create the lab first (make lab-create)" % (name, path))
        return ["nsenter", "--mount=" + mnt, "--uts=" + uts, "--net=" + ns_path, "--"]

    def exec_command(self, cmd, in_data=None, sudoable=True):
        wrapped = " ".join(shlex.quote(a) for a in self._namespace_args() + ["/bin/sh", "-c", cmd])
        return super().exec_command(wrapped, in_data=in_data, sudoable=sudoable)
