"""Count UDP datagrams to PORT for SECONDS; print the count (run in the task's namespace)."""
import socket
import sys
import time

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("0.0.0.0", int(sys.argv[1])))
deadline = time.time() + float(sys.argv[2])
count = 0
while time.time() < deadline:
    sock.settimeout(max(0.01, deadline - time.time()))
    try:
        sock.recv(2048)
        count += 1
    except socket.timeout:
        pass
print(count)
