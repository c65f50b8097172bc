"""Test helper, run inside a sandbox or a host: HTTP requests to a whoami service.

count URL N     -> {"answers": {server address: n}, "clients": [client addresses seen], "failures": n}
counts N URL... -> [count's answer for each URL], one after the other
loop URL SECS [--stop FILE]
                -> {"ok": n, "failures": n, "errors": [...]}, requests back to back for SECS seconds,
                   or until FILE exists
timeline URL SECS [--every S] [--timeout S] [--stop FILE] [--started FILE] [--slow S] [--out FILE]
                -> a request every 50 ms (1 s timeout) for SECS seconds, or until FILE exists, as a user's
                   client would; touches --started once running: {"answers": {server: [wall-clock
                   times]}, "failures": [[time, error], ...]}, with --slow also "slow": [[time, seconds,
                   server], ...], the answers that took longer than that; with --out also written to
                   that file, whole or not at all (a client started in the background, read with cat)
The whoami tasks answer "SERVER_ADDRESS CLIENT_ADDRESS".
"""
import argparse
import collections
import json
import os
import sys
import time
import urllib.request


def get(url, timeout=3):
    with urllib.request.urlopen(url, timeout=timeout) as reply:
        return reply.read().decode().split()


def count(url, n):
    answers, clients, failures = collections.Counter(), set(), 0
    for _attempt in range(int(n)):
        try:
            server, client = get(url)
            answers[server] += 1
            clients.add(client)
        except (OSError, ValueError):
            failures += 1
    return {"answers": dict(answers), "clients": sorted(clients), "failures": failures}


def loop(url, seconds, *options):
    parser = argparse.ArgumentParser(prog="http_probe.py loop")
    parser.add_argument("--stop")
    args = parser.parse_args(options)
    ok, failures, errors = 0, 0, set()
    end = time.time() + float(seconds)
    while time.time() < end and not (args.stop and os.path.exists(args.stop)):
        try:
            get(url)
            ok += 1
        except (OSError, ValueError) as exc:
            failures += 1
            errors.add(str(exc))
    return {"ok": ok, "failures": failures, "errors": sorted(errors)}


def timeline(url, seconds, *options):
    parser = argparse.ArgumentParser(prog="http_probe.py timeline")
    parser.add_argument("--every", type=float, default=0.05)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--stop")
    parser.add_argument("--started")
    parser.add_argument("--slow", type=float)
    parser.add_argument("--out")
    args = parser.parse_args(options)
    if args.started:
        with open(args.started, "w"):
            pass
    answers, failures, slow = collections.defaultdict(list), [], []
    end = time.time() + float(seconds)
    while time.time() < end and not (args.stop and os.path.exists(args.stop)):
        started = time.time()
        try:
            server, _client = get(url, timeout=args.timeout)
            answers[server].append(round(started, 3))
            took = time.time() - started
            if args.slow is not None and took > args.slow:
                slow.append([round(started, 3), round(took, 2), server])
        except (OSError, ValueError) as exc:
            failures.append([round(started, 3), str(exc)])
        time.sleep(max(0.0, args.every - (time.time() - started)))
    result = {"answers": dict(answers), "failures": failures}
    if args.slow is not None:
        result["slow"] = slow
    if args.out:
        with open(args.out + ".part", "w") as f:
            json.dump(result, f)
        os.rename(args.out + ".part", args.out)
    return result


def counts(n, *urls):
    return [count(url, n) for url in urls]


if __name__ == "__main__":
    if sys.argv[1] == "counts":
        print(json.dumps(counts(*sys.argv[2:])))
        sys.exit(0)
    mode, url, amount = sys.argv[1:4]
    print(json.dumps({"count": count, "loop": loop, "timeline": timeline}[mode](url, amount, *sys.argv[4:])))
