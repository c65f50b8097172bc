"""Test helper: run a command, and kill it with every process it started (SIGKILL) once its
output has shown a line matching PATTERN and DELAY more seconds have passed - as a controller
that dies would. (Ansible's workers start sessions of their own, so the process group is not
enough: the tree is read from /proc.) Prints the output it saw, then one JSON line:
{"killed": bool, "returncode": int}. Usage: interrupt.py PATTERN DELAY -- COMMAND..."""
import glob
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time


def descendants(root):
    children = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.split("/")[2]))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _signal(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def kill_tree(root):
    """Freeze the tree until no process forks any more, then kill all of it at once."""
    frozen = set()
    while True:
        tree = set(descendants(root))
        if tree <= frozen:
            break
        _signal(tree - frozen, signal.SIGSTOP)
        frozen |= tree
    _signal(frozen, signal.SIGKILL)


def main():
    pattern, delay = re.compile(sys.argv[1]), float(sys.argv[2])
    command = sys.argv[sys.argv.index("--") + 1:]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    os.set_blocking(proc.stdout.fileno(), False)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline, buffered, killed = None, b"", False
    while proc.poll() is None:
        if deadline is not None and time.monotonic() >= deadline:
            kill_tree(proc.pid)
            killed = True
            break
        for _key, _mask in sel.select(timeout=0.1):
            chunk = proc.stdout.read() or b""
            sys.stdout.write(chunk.decode(errors="replace"))
            buffered += chunk
            if deadline is None and pattern.search(buffered.decode(errors="replace")):
                deadline = time.monotonic() + delay
    proc.wait()
    print(json.dumps({"killed": killed, "returncode": proc.returncode}))


main()
