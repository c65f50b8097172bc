# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The service registry each host keeps: the cluster's services as last applied.

The plan reads it back from every host to keep VIPs and fwmarks stable while a
service lives (the kernel's tables hold marks and addresses, not service names).
"""

from __future__ import annotations

import json
import os

from ansible_collections.swarmnet.overlay.plugins.module_utils.host import files

FILENAME = "services.json"


def path(state_dir):
    return os.path.join(state_dir, FILENAME)


def text(services):
    return json.dumps(sorted(services, key=lambda s: s["name"]), sort_keys=True, indent=1) + "\n"


def read_text(state_dir):
    return files.read(path(state_dir)) or ""


def read(state_dir):
    """The recorded services, or [] when none (or unreadable: the plan then allocates afresh)."""
    try:
        services = json.loads(read_text(state_dir) or "[]")
    except ValueError:
        return []
    return services if isinstance(services, list) else []


def write(state_dir, body):
    files.write(path(state_dir), body)
