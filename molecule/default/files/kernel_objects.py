"""Test helper: list the kernel objects of a host, independently of the collection's code.

Prints a JSON list of one-line objects, so two listings compare as sets:
"ns NAME", "NS link NAME KIND ALIAS", "NS fdb DEV MAC -> VTEP", "NS neigh DEV IP -> MAC",
"NS addr DEV IP/PREFIX", "NS default via GATEWAY" (NS is "-" for the host namespace),
"nft ..." for every rule, set and map of the host namespace ("NS nft ..." in others), and
"file PATH" for every file in the swarmnet state directory, and "sysctl net.ipv4.ip_forward N"
of the host namespace.
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
    addrs = ["%s addr %s %s/%d" % (ns, names.get(msg["index"]), msg.get_attr("IFA_ADDRESS"), msg["prefixlen"])
             for msg in ipr.get_addr(family=socket.AF_INET)]
    routes = ["%s default via %s" % (ns, msg.get_attr("RTA_GATEWAY"))
              for msg in ipr.get_routes(family=socket.AF_INET, table=254) if msg["dst_len"] == 0]
    return links + fdb + neigh + addrs + routes


def nft_rules(ns=None):
    prefix = "nft" if ns is None else "%s nft" % ns
    enter = [] if ns is None else ["nsenter", "--net=/run/netns/" + ns]
    out = json.loads(subprocess.run(enter + ["nft", "-j", "list", "ruleset"], capture_output=True,
                                    text=True, check=True).stdout)
    rules = []
    for item in out["nftables"]:
        if "rule" in item:
            rule = item["rule"]
            expr = json.dumps(rule["expr"], sort_keys=True)
            rules.append("%s rule %s %s %s %s" % (prefix, rule["family"], rule["table"], rule["chain"], expr))
        elif "set" in item or "map" in item:
            kind = "set" if "set" in item else "map"
            elements = json.dumps(item[kind].get("elem", []), sort_keys=True)
            rules.append("%s %s %s %s %s" % (prefix, kind, item[kind]["table"], item[kind]["name"], elements))
    return sorted(rules)


def state_files(root="/var/lib/swarmnet"):
    return sorted("file " + os.path.join(d, f) for d, _dirs, files in os.walk(root) for f in files)


def main():
    with IPRoute() as ipr:
        objects = namespace(ipr, "-")
    nsdir = "/run/netns"
    for name in sorted(os.listdir(nsdir)) if os.path.isdir(nsdir) else []:
        objects.append("ns %s" % name)
        with IPRoute(netns=name, flags=0) as ipr:
            objects += namespace(ipr, name)
        objects += nft_rules(name)
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        objects.append("sysctl net.ipv4.ip_forward %s" % f.read().strip())
    objects += nft_rules() + state_files()
    print(json.dumps(sorted(objects)))


main()
