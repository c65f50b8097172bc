# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a run derives from one input once, however many items use it.

Every sandbox of a network balances the same services, and the plan hands them one list: the
defaults filled in, the mask of the live layer, the normalised services and the table's text are
the same for each of them. A run that balances 40 sandboxes computed them 40 times (most of a
no-op's time past the reads). Values are keyed by the input object's identity (held here, so the
id is not reused while the run lasts) and an extra key compared by value (the facts, read anew
for each sandbox). What is handed out is shared: callers read it, never change it.
"""

from __future__ import annotations


class Derived:
    def __init__(self):
        self._values = {}

    def get(self, kind, source, compute, extra=None):
        """compute(), or what it returned for the same `kind`, `source` object and an equal `extra`."""
        key = (kind, id(source))
        known = self._values.get(key)
        if known is not None and known[1] == extra:
            return known[2]
        value = compute()
        self._values[key] = (source, extra, value)
        return value
