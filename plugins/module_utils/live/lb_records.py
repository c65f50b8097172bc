# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The balancing records on disk: STATE_DIR/live/lb/SANDBOX.json, and the lock they share.

Each record holds a sandbox's planned services and the ones applied to its kernel (see
live_balancing.py, which writes them). Readers that only compare records with facts, such
as a rollout's waits, take this module alone: it imports no netlink library, which costs
seconds per module run on an emulated CPU.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os

from ansible_collections.swarmnet.overlay.plugins.module_utils.live import availability

RECORDS = "lb"
LOCK = "lb.lock"


def records_dir(state_dir):
    return os.path.join(availability.live_dir(state_dir), RECORDS)


def record_path(state_dir, sandbox):
    return os.path.join(records_dir(state_dir), sandbox + ".json")


@contextlib.contextmanager
def locked(state_dir):
    """Only one of the converge, the restore and the agent programs balancing at a time."""
    os.makedirs(availability.live_dir(state_dir), exist_ok=True)
    fd = os.open(os.path.join(availability.live_dir(state_dir), LOCK), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def read_record(state_dir, sandbox):
    try:
        with open(record_path(state_dir, sandbox)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def records(state_dir):
    """{sandbox: record} of every sandbox with balancing."""
    found = {}
    if os.path.isdir(records_dir(state_dir)):
        for entry in sorted(os.listdir(records_dir(state_dir))):
            if entry.endswith(".json"):
                record = read_record(state_dir, entry[:-5])
                if record is not None:
                    found[entry[:-5]] = record
    return found


def record(backend, table, planned, applied):
    return {"backend": backend, "table": table, "planned": planned, "applied": applied}


def record_text(backend, table, planned, applied):
    return json.dumps(record(backend, table, planned, applied), sort_keys=True, indent=1) + "\n"
