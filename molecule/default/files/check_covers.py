"""Test helper: does a --check --diff run's output show, for each host, what a real run then
changed there? Reads JSON on stdin: {"output": TEXT, "before": {host: [objects]},
"after": {host: [objects]}} (object listings of kernel_objects.py). The output is cut into
per-host parts: the lines printed before each "changed: [HOST]". Every address, MAC,
namespace and state file name of an object that changed on a host must appear in that host's
part. Prints {"changed_hosts", "missing": {host: [object]}, "objects": {host: count}}."""
import json
import re
import sys

STATUS = re.compile(r"^(changed|ok|skipping|fatal|failed): \[([^\]]+)\]")
TOKENS = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b|\b(?:[0-9a-f]{2}:){5}[0-9a-f]{2}\b")


def parts_by_host(output):
    parts, buffered = {}, []
    for line in output.splitlines():
        status = STATUS.match(line)
        if status:
            if status.group(1) == "changed":
                parts.setdefault(status.group(2), []).extend(buffered + [line])
            buffered = []
        elif line.startswith("TASK ["):
            buffered = []
        else:
            buffered.append(line)
    return {host: "\n".join(lines) for host, lines in parts.items()}


def tokens(obj):
    found = [t for t in TOKENS.findall(obj.lower()) if not t.startswith("127.")]     # a namespace's own lo
    if obj.startswith("ns "):
        found.append(obj.split()[1])
    if obj.startswith("file "):
        found.append(obj.rsplit("/", 1)[1].rsplit(".", 1)[0])
    return found


def main():
    data = json.load(sys.stdin)
    parts = parts_by_host(data["output"])
    missing, counts = {}, {}
    for host in data["before"]:
        changed = set(data["before"][host]) ^ set(data["after"][host])
        counts[host] = len(changed)
        part = parts.get(host, "").lower()
        missing[host] = sorted(obj for obj in changed if any(t.lower() not in part for t in tokens(obj)))
    print(json.dumps({"changed_hosts": sorted(parts), "missing": missing, "objects": counts}))


main()
