"""Test helper: what clients saw around a fault, from http_probe.py's timelines.

Reads {"fault": T, "recovered": T or null, "settle": S, "window": W or null, "victim": ADDRESS,
"timelines": {client: timeline}, "offsets": {client: seconds its clock is ahead}} on stdin
(wall-clock seconds; fault and recovered on the reference clock, each timeline on its client's,
moved onto the reference by its offset). Only requests started within W seconds of the recovery
(without one: of the fault) count: a client may ask on while the controller gets round to stopping
it, tens of seconds under emulation, and what it sees then is the test's own load, not the fault's.
Prints, per client:
  failures          requests that failed, in all
  last_failure      seconds from the fault to the start of the last failed request (null: none)
  failed_after      failed requests started more than `settle` seconds after the fault
  failed_at         seconds from the fault to the start of each failed request after `settle`
                    (the first ten), to set beside the agents' logs
  victim_after      answers from the victim between fault + settle and the recovery (or the end)
  victim_back       seconds from the recovery (without one: from the fault, a resume) to the victim's
                    first answer after it (null: it never answered)
  answers           answers per server
  watched           seconds from the recovery (without one: from the fault) to the last request the
                    client started within the window: a client that stopped before cannot tell
                    what followed
  beyond            requests started after the window, not counted above
  failed_beyond     how many of those failed (shown, never asserted: the test's own load)
"""
import json
import sys


def summary(timeline, fault, recovered, settle, victim, window=None):
    since = recovered if recovered is not None else fault
    until = since + float(window) if window is not None else float("inf")
    failed_beyond = len([t for t, _error in timeline["failures"] if t > until])
    timeline, beyond = within(timeline, until)
    failed = [t for t, _error in timeline["failures"]]
    answered = timeline["answers"].get(victim, [])
    end = recovered if recovered is not None else float("inf")
    back = [t - since for t in answered if t >= since]
    started = [t for times in timeline["answers"].values() for t in times] + failed
    return {
        "failures": len(failed),
        "last_failure": round(max(failed) - fault, 2) if failed else None,
        "failed_after": len([t for t in failed if t > fault + settle]),
        "failed_at": [round(t - fault, 2) for t in sorted(failed) if t > fault + settle][:10],
        "victim_after": len([t for t in answered if fault + settle < t < end]),
        "victim_back": round(min(back), 2) if back else None,
        "answers": {server: len(times) for server, times in sorted(timeline["answers"].items())},
        "errors": sorted({error for _t, error in timeline["failures"]})[:5],
        "watched": round(max(started) - since, 2) if started else None,
        "beyond": beyond,
        "failed_beyond": failed_beyond,
    }


def within(timeline, until):
    """The timeline's requests started by `until`, and how many started after."""
    kept = {"answers": {server: [t for t in times if t <= until] for server, times in timeline["answers"].items()},
            "failures": [[t, error] for t, error in timeline["failures"] if t <= until]}
    total = sum(map(len, timeline["answers"].values())) + len(timeline["failures"])
    return kept, total - sum(map(len, kept["answers"].values())) - len(kept["failures"])


def shifted(timeline, offset):
    return {"answers": {server: [t - offset for t in times] for server, times in timeline["answers"].items()},
            "failures": [[t - offset, error] for t, error in timeline["failures"]]}


def main():
    spec = json.load(sys.stdin)
    offsets = spec.get("offsets") or {}
    print(json.dumps({client: summary(shifted(timeline, offsets.get(client, 0.0)), spec["fault"],
                                      spec.get("recovered"), float(spec["settle"]), spec["victim"],
                                      spec.get("window"))
                      for client, timeline in sorted(spec["timelines"].items())}))


main()
