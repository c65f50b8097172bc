"""Make the repository importable as ansible_collections.swarmnet.overlay."""
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
LINK_BASE = os.path.join(ROOT, "build", "collections")
link = os.path.join(LINK_BASE, "ansible_collections", "swarmnet", "overlay")
if not os.path.exists(link):
    os.makedirs(os.path.dirname(link), exist_ok=True)
    os.symlink(os.path.join("..", "..", "..", ".."), link)
sys.path.insert(0, LINK_BASE)
