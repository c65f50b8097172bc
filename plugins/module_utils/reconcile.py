# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record-then-run changes, so check mode reports exactly what a real run does."""

from __future__ import annotations


class Changes:
    """Each change is a description and a callable; check mode only describes."""

    def __init__(self, check_mode):
        self.check_mode = check_mode
        self.done = []

    def __call__(self, description, action, *args, **kwargs):
        self.done.append(description)
        if not self.check_mode:
            return action(*args, **kwargs)
        return None

    def record(self, description):
        """A change already made (or, in check mode, that would be) by a batch applied as a whole."""
        self.done.append(description)

    def predict(self, description):
        """Check mode only: a change that would follow one that was not made."""
        self.done.append(description)

    @property
    def changed(self):
        return bool(self.done)
