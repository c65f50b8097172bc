"""Test helper: list the kernel objects of a host, independently of the collection's code.

Prints a JSON list of one-line objects, so two listings compare as sets:
"ns NAME", "NS link NAME KIND ALIAS", "NS fdb DEV MAC -> VTEP", "NS neigh DEV IP -> MAC"
(NS is "-" for the host namespace) and "nft ..." for every rule and set.
"""
import json
import os
import socket
import subprocess

from pyroute2 import IPRoute

NUD_PERMANENT = 0x80


def namespace(ipr, ns):
    links, fdb, neigh = [], [], []
    names = {}
    for msg in ipr.get_links():
        info = msg.get("IFLA_LINKINFO")
        names[msg["index"]] = msg.get("IFLA_IFNAME")
        kind = info.get("IFLA_INFO_KIND") if info else "-"
        links.append("%s link %s %s %s" % (ns, msg.get("IFLA_IFNAME"), kind, msg.get("IFLA_IFALIAS") or ""))
    for msg in ipr.fdb("dump"):
        if msg.get("NDA_DST") and msg["state"] & NUD_PERMANENT:
            fdb.append("%s fdb %s %s -> %s" % (ns, names.get(msg["ifindex"]), msg.get("NDA_LLADDR"), msg.get("NDA_DST")))
    for msg in ipr.get_neighbours(family=socket.AF_INET):
        if msg["state"] & NUD_PERMANENT:
            neigh.append("%s neigh %s %s -> %s" % (ns, names.get(msg["ifindex"]), msg.get("NDA_DST"), msg.get("NDA_LLADDR")))
    return links + fdb + neigh


def nft_rules():
    out = json.loads(subprocess.run(["nft", "-j", "list", "ruleset"], capture_output=True,
                                    text=True, check=True).stdout)
    rules = []
    for item in out["nftables"]:
        if "rule" in item:
            rule = item["rule"]
            expr = json.dumps(rule["expr"], sort_keys=True)
            rules.append("nft rule %s %s %s %s" % (rule["family"], rule["table"], rule["chain"], expr))
        elif "set" in item:
            elements = json.dumps(item["set"].get("elem", []), sort_keys=True)
            rules.append("nft set %s %s %s" % (item["set"]["table"], item["set"]["name"], elements))
    return sorted(rules)


def main():
    with IPRoute() as ipr:
        objects = namespace(ipr, "-")
    nsdir = "/run/netns"
    for name in sorted(os.listdir(nsdir)) if os.path.isdir(nsdir) else []:
        objects.append("ns %s" % name)
        with IPRoute(netns=name, flags=0) as ipr:
            objects += namespace(ipr, name)
    objects += nft_rules()
    print(json.dumps(sorted(objects)))


main()
