# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""STATE_DIR/applied.json: the host's part of the plan it was last converged to.

restore_point writes it at the end of a converge and the boot-time restore makes it again
(restore.py); the plan reads the tasks in it back (overlay_info), to know which running task
a new spec changes and what to roll back to. Standard library only, so reading it costs a
module no kernel imports.
"""

from __future__ import annotations

import json
import os

from ansible_collections.swarmnet.overlay.plugins.module_utils.host import files

NAME = "applied.json"


def path(state_dir):
    return os.path.join(state_dir, NAME)


def tasks(state_dir):
    """The tasks (service_task's items) the last converge applied here; [] when none or unreadable."""
    try:
        saved = json.loads(files.read(path(state_dir)) or "{}")
    except ValueError:
        return []
    return ((saved.get("desired") if isinstance(saved, dict) else None) or {}).get("tasks") or []
