"""Ask the resolver of this namespace's /etc/resolv.conf, as a task would.

    dns_probe.py NAME/TYPE ...   -> one JSON list: [{"question", "server", "rcode", "answers", "ttls", "ms", "line"}]

"line" is "NAME/TYPE RCODE ANSWER..." with the answers sorted, for plain comparisons.

Run it with `ip netns exec SANDBOX`, which binds /etc/netns/SANDBOX/resolv.conf over
/etc/resolv.conf, so the server asked is the one the sandbox is configured with. Needs
dnslib (the collection's venv has it).
"""

import json
import sys
import time

from dnslib import QTYPE, RCODE, DNSRecord


def nameserver(path="/etc/resolv.conf"):
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                return parts[1]
    raise SystemExit("no nameserver in %s" % path)


def ask(server, name, qtype):
    result = {"question": "%s/%s" % (name, qtype), "server": server, "answers": [], "ttls": []}
    started = time.monotonic()
    try:
        reply = DNSRecord.parse(DNSRecord.question(name, qtype).send(server, 53, timeout=5))
        result.update(rcode=str(RCODE.get(reply.header.rcode)),
                      answers=[str(rr.rdata) for rr in reply.rr if QTYPE.get(rr.rtype) == qtype],
                      ttls=sorted({rr.ttl for rr in reply.rr}))
    except OSError as exc:
        result["rcode"] = "ERROR(%s)" % exc.__class__.__name__
    result["ms"] = round((time.monotonic() - started) * 1000)
    result["line"] = " ".join([result["question"], result["rcode"]] + sorted(result["answers"]))
    return result


def main(questions):
    server = nameserver()
    print(json.dumps([ask(server, *q.rsplit("/", 1)) for q in questions]))


if __name__ == "__main__":
    main(sys.argv[1:])
