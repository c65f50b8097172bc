"""Ask URLs in turn until STOP_FILE exists; print what it saw as JSON.

usage: client_loop.py STOP_FILE TIMEOUT EVERY URL...   (each request has TIMEOUT s; one every EVERY s)

Each request resolves its name first, timed apart (a DNS answer lost costs glibc's 5 s retry).
`ok` counts the answered requests; `slowest` is the longest of them and its name's part. A
failure in `failed` names when its request began, the step it failed in and how long it took;
`first_failure` is when the first began (seconds since the epoch, null when none failed), to
find what else happened then. `stalls` are the moments this process itself did not run for
over a second (a watch thread that wakes every 0.1 s came late): on an emulated VM that
starves, a request can time out with nothing lost on the way.
"""
import json
import os
import socket
import sys
import threading
import time
import urllib.parse
import urllib.request

STALL = 1.0


def clock(at):
    return time.strftime("%H:%M:%S", time.localtime(at)) + ("%.2f" % (at % 1))[1:]


def watch(stalls, done):
    last = time.monotonic()
    while not done.wait(0.1):
        now = time.monotonic()
        if now - last > STALL:
            stalls.append("%s %.1fs" % (clock(time.time() - (now - last)), now - last))
        last = now


def resolve(url):
    """The URL with its host name resolved, and the Host header for it."""
    parts = urllib.parse.urlsplit(url)
    port = parts.port or 80
    address = socket.getaddrinfo(parts.hostname, port, 0, socket.SOCK_STREAM)[0][4][0]
    return urllib.request.Request("http://%s:%d%s" % (address, port, parts.path or "/"), headers={"Host": parts.netloc})


def main(stop, timeout, every, urls):
    ok, slowest, failed, first_failure, stalls, i = 0, [0.0, 0.0], [], None, [], 0
    done = threading.Event()
    threading.Thread(target=watch, args=(stalls, done), daemon=True).start()
    while not os.path.exists(stop):
        url = urls[i % len(urls)]
        i += 1
        began, start, step = time.time(), time.monotonic(), "resolving"
        try:
            request = resolve(url)
            resolved, step = time.monotonic() - start, "requesting"
            with urllib.request.urlopen(request, timeout=timeout) as reply:
                reply.read()
            ok += 1
            slowest = max(slowest, [time.monotonic() - start, resolved])
        except Exception as exc:  # every failure counts, whatever it is
            first_failure = first_failure or began
            failed.append("%s %s: %s (%s, after %.1fs)" % (clock(began), url, exc, step, time.monotonic() - start))
        time.sleep(every)
    done.set()
    print(json.dumps({"ok": ok, "slowest": "%.2fs (the name %.2fs)" % tuple(slowest), "failed": failed,
                      "first_failure": first_failure, "stalls": stalls}))


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4:])
