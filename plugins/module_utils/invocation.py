# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a module that takes a host's lists echoes of its arguments.

AnsibleModule returns every argument in the result's `invocation`, and the controller walks each
result three times in its one main process (copied, stripped, made native for the callbacks). A
module given the host's plan echoed it whole: about 200 KB a host with 40 services, for a key that
Ansible's callbacks show only at -vvv. Below that the lists and dicts are left out; at -vvv, where
someone reads them, everything is echoed as usual.
"""

from __future__ import annotations

SHOWN_FROM = 3      # the verbosity from which Ansible's callbacks print a result's invocation


def exit_kwargs(module):
    """Keyword arguments for exit_json: the scalar arguments only, below -vvv; nothing (the usual echo) from it.
    Secret values stay masked: exit_json masks every no_log value wherever it appears in the result."""
    if module._verbosity >= SHOWN_FROM:
        return {}
    return {"invocation": {"module_args": {key: value for key, value in module.params.items()
                                           if not isinstance(value, (list, dict))}}}
