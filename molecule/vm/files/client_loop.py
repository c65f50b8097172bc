"""Ask URLs in turn until STOP_FILE exists; print {"ok": N, "failed": [...]} as JSON.

usage: client_loop.py STOP_FILE URL...   (each request has 3 s; one every 0.1 s)
"""
import json
import os
import sys
import time
import urllib.request

stop, urls = sys.argv[1], sys.argv[2:]
ok, failed, i = 0, [], 0
while not os.path.exists(stop):
    url = urls[i % len(urls)]
    i += 1
    try:
        with urllib.request.urlopen(url, timeout=3) as reply:
            reply.read()
        ok += 1
    except Exception as exc:  # every failure counts, whatever it is
        failed.append("%s %s: %s" % (time.strftime("%H:%M:%S"), url, exc))
    time.sleep(0.1)
print(json.dumps({"ok": ok, "failed": failed}))
