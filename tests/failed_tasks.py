"""Print the tasks that failed in a saved Molecule log, so that they end a failed test's output.

A failed scenario ends in Molecule's summary ("verify: Executed: Failed") and the destroy step;
the task that failed and its message are hundreds of lines up, out of a CI tail. Failures that
the play ignored (``...ignoring``) and retries are left out (a failure a ``rescue`` caught is
listed); a nested run's output, shown indented by a debug task, is not a failure of this run.
A command task's ``cmd`` is left out of its message: the task's name says what it ran, and a
long script would push what it printed out of the lines shown.

Usage: python3 tests/failed_tasks.py LOG
"""
import re
import sys

ANSI = re.compile(r"\x1b\[[0-9;]*m")
BOX = re.compile(r"^\s*│ ?")          # Molecule prints each step's output inside a box
FAILED = re.compile(r"^(fatal|failed): \[")
MAX_LINES = 40                            # of one failure's message
KEY = re.compile(r"^( *)([A-Za-z_]+):(?: |$)")
LEFT_OUT = ("cmd",)


def plain_lines(text):
    """The log's lines without colours and without Molecule's box."""
    return [BOX.sub("", ANSI.sub("", line)).rstrip() for line in text.splitlines()]


def failures(text):
    """[(task, [lines of the failure])] in the order they happened."""
    found = []
    task = []
    in_header = False
    block = None
    for line in plain_lines(text):
        if block is not None:
            if line.startswith(" ") or not line:   # the failure's message, indented under it (blank lines too)
                block.append(line)
                continue
            if line != "...ignoring":
                found.append((" ".join(task), _trimmed(block)))
            block = None
        if line.startswith(("TASK [", "RUNNING HANDLER [")):
            task, in_header = [line], not line.endswith("*")
        elif in_header:
            task.append(line.strip())
            in_header = not line.endswith("*")
        elif FAILED.match(line):
            block = [line]
    if block is not None:
        found.append((" ".join(task), _trimmed(block)))
    return found


def _trimmed(block):
    while block and not block[-1]:
        block.pop()
    return _without(block, LEFT_OUT)


def _without(block, keys):
    """The failure's lines without the result keys named, each with the lines it spans.

    Its keys are the lines indented as its first key; any other line (a value's own lines,
    or one Molecule wrapped, which it indents less) belongs to the key above it.
    """
    first = KEY.match(block[1]) if len(block) > 1 else None
    if first is None:
        return block
    indent = first.group(1)
    kept, skipping = block[:1], False
    for line in block[1:]:
        key = KEY.match(line)
        if key and key.group(1) == indent:
            skipping = key.group(2) in keys
        if not skipping:
            kept.append(line)
    return kept


def report(text):
    """The failures as text, or an empty string if the log has none."""
    parts = []
    for task, block in failures(text):
        task = task.rstrip("* ").strip()
        shown = block[:MAX_LINES] + (["    ... (%d more lines)" % (len(block) - MAX_LINES)] if len(block) > MAX_LINES else [])
        parts.append("\n".join([task] + shown))
    return "\n\n".join(parts)


def main(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = report(f.read())
    print("\n===== What failed (from %s) =====" % path)
    print(text or "No task failed in the log; the error is in the lines above its summary.")


if __name__ == "__main__":
    main(sys.argv[1])
