# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel parameters of the current network namespace, under /proc/sys."""

from __future__ import annotations

import os

ROOT = "/proc/sys"


def path(key):
    """`net/ipv4/ip_forward` -> its /proc/sys path (slashes: interface names may hold dots)."""
    return os.path.join(ROOT, key)


def read(key):
    """The value, or None where the parameter does not exist (yet)."""
    try:
        with open(path(key)) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


def write(key, value):
    with open(path(key), "w") as f:
        f.write(value)
