"""Data-path settings bench/throughput.py can switch on the lab, one at a time.

Each lever changes a setting on every link one overlay stream crosses between h1 and h2 (the
sandbox veths, the frontend network's veths, br0 and VXLAN device, the hosts' underlay eth0) and
returns how to put it back. Nothing here is the collection's: a lever that raises the ratio is
adopted in the collection's own code, and measured again from there.
"""

import ipaddress
import json
import subprocess

LAB = "/run/swarmnet-lab"
NETWORK_NS = "swarmnet-frontend"
SANDBOXES = {"h1": "task-a", "h2": "task-b"}


def in_host(host, argv, netns=None):
    """argv in lab host `host` (its mount and network namespaces), or in one of its namespaces."""
    ns = "swlab-" + host
    prefix = ["nsenter", "--mount=%s/%s.mnt" % (LAB, ns), "--net=/run/netns/%s" % ns]
    if netns:
        prefix += ["ip", "netns", "exec", netns]
    return prefix + argv


def run(host, argv, netns=None):
    return subprocess.run(in_host(host, argv, netns), capture_output=True, text=True, check=True).stdout


def links(host, netns, kind=None):
    """[ip -d -j link] entries of a namespace (of one kind)."""
    out = json.loads(run(host, ["ip", "-d", "-j", "link", "show"] + (["type", kind] if kind else []), netns))
    return [lk for lk in out if lk["ifname"] != "lo"]


def path_links(host):
    """(netns, link) of every link a frontend stream crosses on `host`, as `ip -d -j link` lists it."""
    out = [(SANDBOXES[host], lk) for lk in links(host, SANDBOXES[host], "veth")]
    out += [(NETWORK_NS, lk) for lk in links(host, NETWORK_NS)]
    return out + [(None, lk) for lk in links(host, None) if lk["ifname"] == "eth0"]


def _feature(host, netns, ifname, name):
    out = run(host, ["ethtool", "-k", ifname], netns)
    for line in out.splitlines():
        if line.strip().startswith(name + ":"):
            return line.split(":", 1)[1].split()[0]
    return None


def ethtool(feature, value, only=None):
    """A lever setting an ethtool feature on every path link (of kind `only`: veth, vxlan, bridge)."""
    def apply():
        undo = []
        for host in ("h1", "h2"):
            for netns, link in path_links(host):
                ifname = link["ifname"]
                if only and (link.get("linkinfo") or {}).get("info_kind") not in only:
                    continue
                before = _feature(host, netns, ifname, feature)
                if before is None or before == value:
                    continue
                subprocess.run(in_host(host, ["ethtool", "-K", ifname, feature, value], netns),
                               capture_output=True, check=False)     # "[fixed]" features refuse: left as they are
                undo.append(in_host(host, ["ethtool", "-K", ifname, feature, before], netns))
        return undo
    return apply


def bridge_option(option, value):
    """A lever setting `ip link set br0 type bridge OPTION VALUE` in the frontend network's namespace."""
    def apply():
        undo = []
        for host in ("h1", "h2"):
            info = json.loads(run(host, ["ip", "-d", "-j", "link", "show", "dev", "br0"], NETWORK_NS))[0]
            before = info["linkinfo"]["info_data"][option]
            run(host, ["ip", "link", "set", "br0", "type", "bridge", option, str(value)], NETWORK_NS)
            undo.append(in_host(host, ["ip", "link", "set", "br0", "type", "bridge", option, str(before)], NETWORK_NS))
        return undo
    return apply


def bridge_netfilter_off():
    """A lever turning br_netfilter's sysctls off in the frontend network's namespace (on by default
    there; the bridge's own nf_call_iptables is already 0)."""
    names = ["net.bridge.bridge-nf-call-%s" % kind for kind in ("iptables", "ip6tables", "arptables")]

    def apply():
        undo = []
        for host in ("h1", "h2"):
            for name in names:
                before = run(host, ["sysctl", "-n", name], NETWORK_NS).strip()
                run(host, ["sysctl", "-q", "-w", "%s=0" % name], NETWORK_NS)
                undo.append(in_host(host, ["sysctl", "-q", "-w", "%s=%s" % (name, before)], NETWORK_NS))
        return undo
    return apply


NOTRACK = """table ip swarmnet_bench_notrack {
  chain prerouting { type filter hook prerouting priority raw; udp dport { 4789, 4790 } notrack; }
  chain output { type filter hook output priority raw; udp dport { 4789, 4790 } notrack; }
}
"""


def notrack_vxlan():
    """A lever taking VXLAN datagrams out of connection tracking in the hosts' namespaces (the
    routing mesh's nat hooks track every packet there)."""
    def apply():
        undo = []
        for host in ("h1", "h2"):
            subprocess.run(in_host(host, ["nft", "-f", "-"]), input=NOTRACK, text=True, check=True)
            undo.append(in_host(host, ["nft", "delete", "table", "ip", "swarmnet_bench_notrack"]))
        return undo
    return apply


SANDBOX_NOTRACK = """table ip swarmnet_bench_notrack {
  chain prerouting { type filter hook prerouting priority raw; ip saddr %(peer)s notrack; }
  chain output { type filter hook output priority raw; ip daddr %(peer)s notrack; }
}
"""


def notrack_sandboxes():
    """A bound, not a candidate: task-a and task-b stop tracking each other's addresses (their
    balancing tables' nat hooks track every packet). A VIP's answers need tracking, so this is
    what connection tracking in the sandboxes costs, not something to adopt."""
    def apply():
        address = {host: _frontend_address(host) for host in SANDBOXES}
        undo = []
        for host, peer in (("h1", "h2"), ("h2", "h1")):
            subprocess.run(in_host(host, ["nft", "-f", "-"], SANDBOXES[host]),
                           input=SANDBOX_NOTRACK % {"peer": address[peer]}, text=True, check=True)
            undo.append(in_host(host, ["nft", "delete", "table", "ip", "swarmnet_bench_notrack"], SANDBOXES[host]))
        return undo
    return apply


def _frontend_address(host):
    """The sandbox's address on the frontend network (the subnet its network namespace's br0 serves)."""
    bridge = json.loads(run(host, ["ip", "-4", "-j", "addr", "show", "dev", "br0"], NETWORK_NS))[0]["addr_info"][0]
    subnet = ipaddress.ip_network("%s/%d" % (bridge["local"], bridge["prefixlen"]), strict=False)
    for link in json.loads(run(host, ["ip", "-4", "-j", "addr", "show"], SANDBOXES[host])):
        for addr in link.get("addr_info", []):
            if ipaddress.ip_address(addr["local"]) in subnet:
                return addr["local"]
    raise SystemExit("no frontend address in %s on %s" % (SANDBOXES[host], host))


def _vxlan_again(host, vx, udp_csum):
    """Make the frontend's VXLAN device again with udp_csum, keeping its peers (FDB and neighbours):
    the kernel refuses to change the checksum flag of a device that exists."""
    data, name = vx["linkinfo"]["info_data"], vx["ifname"]
    fdb = [e for e in json.loads(run(host, ["bridge", "-j", "fdb", "show", "dev", name], NETWORK_NS))
           if "self" in e.get("flags", []) and e.get("dst")]
    neigh = [n for n in json.loads(run(host, ["ip", "-j", "neigh", "show", "dev", name], NETWORK_NS))
             if n.get("lladdr")]
    run(host, ["ip", "link", "del", name], NETWORK_NS)
    run(host, ["ip", "link", "add", name, "mtu", str(vx["mtu"]), "type", "vxlan", "id", str(data["id"]),
               "dstport", str(data["port"]), "local", data["local"], "nolearning", "proxy",
               "udpcsum" if udp_csum else "noudpcsum"])
    run(host, ["ip", "link", "set", name, "netns", NETWORK_NS])
    run(host, ["ip", "link", "set", name, "master", "br0", "up"], NETWORK_NS)
    for entry in fdb:
        run(host, ["bridge", "fdb", "append", entry["mac"], "dev", name, "dst", entry["dst"], "self", "permanent"],
            NETWORK_NS)
    for entry in neigh:
        run(host, ["ip", "neigh", "replace", entry["dst"], "lladdr", entry["lladdr"], "dev", name, "nud", "permanent"],
            NETWORK_NS)


def udp_checksum(value):
    """A lever making the frontend's VXLAN devices again with the outer UDP checksum on or off."""
    def apply():
        undo = []
        for host in ("h1", "h2"):
            vx = links(host, NETWORK_NS, "vxlan")[0]
            before = bool(vx["linkinfo"]["info_data"].get("udp_csum"))
            if before == value:
                continue
            _vxlan_again(host, vx, value)
            undo.append(lambda host=host, name=vx["ifname"], before=before: _vxlan_again(
                host, next(lk for lk in links(host, NETWORK_NS, "vxlan") if lk["ifname"] == name), before))
        return undo
    return apply


def mtu(underlay):
    """A lever raising the underlay MTU (the lab bridge, its veths, eth0) and the frontend path to underlay - 50."""
    def apply():
        undo = []
        root = [lk for lk in json.loads(subprocess.run(["ip", "-j", "link", "show"], capture_output=True,
                                                       text=True, check=True).stdout)
                if lk["ifname"] == "swlab0" or lk["ifname"].startswith("swlab-h")]
        for lk in root:
            subprocess.run(["ip", "link", "set", lk["ifname"], "mtu", str(underlay)], check=True)
            undo.append(["ip", "link", "set", lk["ifname"], "mtu", str(lk["mtu"])])
        for host in ("h1", "h2"):
            for netns, link in reversed(path_links(host)):       # eth0 first: the larger MTU is carried
                want = underlay if netns is None else underlay - 50
                run(host, ["ip", "link", "set", link["ifname"], "mtu", str(want)], netns)
                undo.insert(0, in_host(host, ["ip", "link", "set", link["ifname"], "mtu", str(link["mtu"])], netns))
        return undo
    return apply


def undo_all(undo):
    for step in reversed(undo):
        if callable(step):
            step()
        else:
            subprocess.run(step, capture_output=True, check=True)


# name: (what it sets, the lever). Each is measured against the lab as it is.
LEVERS = {
    "udpcsum-off": ("outer UDP checksum off (VXLAN made with noudpcsum)", udp_checksum(False)),
    "gro-list": ("rx-gro-list on (veths, VXLAN device)", ethtool("rx-gro-list", "on")),
    "veth-gro": ("GRO on (veth NAPI)", ethtool("generic-receive-offload", "on", only=("veth",))),
    "no-tnl-gso": ("tx-udp_tnl-segmentation off (software segmentation of VXLAN)",
                   ethtool("tx-udp_tnl-segmentation", "off")),
    "mcast-snooping-off": ("br0 multicast snooping off", bridge_option("mcast_snooping", 0)),
    "ageing-0": ("br0 ageing_time 0 (no learned entries kept)", bridge_option("ageing_time", 0)),
    "bridge-nf-off": ("br_netfilter sysctls 0 in the network namespace", bridge_netfilter_off()),
    "jumbo": ("underlay MTU 9000, overlay 8950", mtu(9000)),
    "notrack-vxlan": ("VXLAN datagrams not tracked in the hosts' namespaces", notrack_vxlan()),
    "notrack-sandboxes": ("task-a and task-b not tracking each other (a bound: VIPs need tracking)",
                          notrack_sandboxes()),
}
