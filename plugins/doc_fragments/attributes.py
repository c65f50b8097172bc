# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
    description: Reports every change it would make and makes none.
  diff_mode:
    support: full
    description: Shows the kernel objects before and after.
  platform:
    support: full
    platforms: linux
    description: Needs a Linux kernel with VXLAN, bridge and veth, and root.
"""
