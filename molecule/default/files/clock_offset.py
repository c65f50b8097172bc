"""Test helper: how far each host's clock is from this one, by ICMP timestamp (RFC 792 type 13).

usage: clock_offset.py ADDRESS...   -> {"ADDRESS": seconds the host's clock is ahead of ours}

The failover checks compare times taken on several VMs, whose clocks start from the RTC at
boot (one-second resolution) and are not synchronised; the kernel answers timestamp requests
with milliseconds since midnight UTC. Of 7 exchanges, the one with the shortest round trip
is kept (NTP's estimate: the mean of the two one-way differences). Needs root (raw socket).
"""
import json
import socket
import struct
import sys
import time

DAY_MS = 86400000


def _checksum(data):
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF


def _now_ms():
    return int(time.time() * 1000) % DAY_MS


def _exchange(sock, address, ident, seq):
    sent = _now_ms()
    header = struct.pack("!BBHHHIII", 13, 0, 0, ident, seq, sent, 0, 0)
    sock.sendto(struct.pack("!BBHHHIII", 13, 0, _checksum(header), ident, seq, sent, 0, 0), (address, 0))
    while True:
        packet, peer = sock.recvfrom(1024)
        back = _now_ms()
        icmp = packet[(packet[0] & 0x0F) * 4:]
        kind, _code, _sum, rid, rseq, orig, received, transmit = struct.unpack("!BBHHHIII", icmp[:20])
        if kind == 14 and peer[0] == address and (rid, rseq) == (ident, seq):
            return back - orig, ((received - orig) + (transmit - back)) / 2.0


def offset(address):
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
        sock.settimeout(2)
        samples = [_exchange(sock, address, 0x5357, seq) for seq in range(7)]
    _rtt, diff = min(samples)
    if diff > DAY_MS / 2:          # around midnight UTC
        diff -= DAY_MS
    elif diff < -DAY_MS / 2:
        diff += DAY_MS
    return diff / 1000.0


if __name__ == "__main__":
    print(json.dumps({address: offset(address) for address in sys.argv[1:]}))
