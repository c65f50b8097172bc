"""A stand-in upstream resolver on the lab underlay that writes down every question it gets.

    dns_standin.py LOG    (UDP port 53 on every address of its namespace; stop with SIGTERM)

Every A question is answered with 198.18.0.99 (TTL 60), other types get NODATA, and names
under silent.example. get no answer at all. Each question is appended to LOG as "NAME TYPE"
at once, so a test can count what reached it.
"""

import signal
import socket
import sys

from dnslib import QTYPE, RR, A, DNSRecord

ANSWER = "198.18.0.99"


def main(log_path):
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", 53))
    with open(log_path, "a", buffering=1) as log:
        while True:
            query, client = sock.recvfrom(4096)
            request = DNSRecord.parse(query)
            log.write("%s %s\n" % (str(request.q.qname).rstrip(".").lower(), QTYPE.get(request.q.qtype)))
            if str(request.q.qname).lower().endswith("silent.example."):
                continue
            reply = request.reply()
            if request.q.qtype == QTYPE.A:
                reply.add_answer(RR(request.q.qname, QTYPE.A, ttl=60, rdata=A(ANSWER)))
            sock.sendto(reply.pack(), client)


if __name__ == "__main__":
    main(sys.argv[1])
