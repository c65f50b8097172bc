"""Count UDP datagrams to PORT (run in the task's namespace) until STOP exists or SECONDS pass.

usage: udp_count.py PORT SECONDS STARTED STOP OUT
Touches STARTED once bound, so that a sender can wait for it; writes the count to OUT at the end,
whole or not at all (started in the background of a shell, read back with cat).
"""
import os
import socket
import sys
import time

port, seconds, started, stop, out = sys.argv[1:6]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("0.0.0.0", int(port)))
sock.settimeout(0.2)
with open(started, "w"):
    pass
deadline = time.time() + float(seconds)
count = 0
while time.time() < deadline and not os.path.exists(stop):
    try:
        sock.recv(2048)
        count += 1
    except socket.timeout:
        pass
with open(out + ".part", "w") as f:
    f.write("%d\n" % count)
os.rename(out + ".part", out)
