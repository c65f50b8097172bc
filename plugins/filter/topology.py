# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for playbooks/inspect.yml (the logic lives in module_utils/plan/topology.py)."""

from __future__ import annotations

from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import topology


def swarmnet_topology(reports, addresses=None):
    return topology.model(reports, addresses)


def topology_dot(model):
    return topology.dot(model)


class FilterModule:
    def filters(self):
        return {"topology": swarmnet_topology, "topology_dot": topology_dot}
