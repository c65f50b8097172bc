# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan: inventory + what every host reports -> each host's desired state.

Pure Python, no I/O. Same input, same output. Allocations a host reports
(VNIs, subnets, endpoint IPs) are kept while they stay valid; new ones take the
lowest free value, in a sorted order, so a plan never depends on dict order.

Input shapes (all plain data):
    networks: [{name, subnet?, gateway?, vni?, ingress?, data_port?, mtu?, encrypted?, state?}]
    hosts:    {host: {advertise_addr, sandboxes: [{name, networks: [str | {network, ip?}], state?}]}}
    reported: {host: {underlay_mtu?, addresses?, esp?, networks: [{name, vni, subnet}],
                      endpoints: [{sandbox, network, ip}], tasks: [name],
                      task_specs: [task items the host last applied: only hosts of this run],
                      task_checks: {task: the healthcheck its agent probes it with: only hosts of this run}}}
    source:   the host whose variables the cluster-wide networks were read from,
              named in errors about them.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.swarmnet.overlay.plugins.module_utils.live import membership
from ansible_collections.swarmnet.overlay.plugins.module_utils.plan import esp, lb, naming, pools, rollout, service_plan, \
    start_first as start_first_plan

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")
DEFAULT_POOL = ipaddress.IPv4Network("10.0.0.0/8")
DEFAULT_POOL_PREFIX = 24
DEFAULT_INGRESS_SUBNET = "10.255.0.0/16"
DEFAULT_UNDERLAY_MTU = 1500
DEFAULT_GWBRIDGE_SUBNET = "172.18.0.0/16"
RESERVED_PREFIX = "swarmnet"      # sandbox names: the collection's own namespaces start so


class PlanError(Exception):
    """Raised with every problem found, each naming host, key and value."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


class Errors(list):
    """Problems found, each naming host, key and value."""

    def add(self, host, key, value, why):
        self.append("host %s: %s=%r: %s" % (host, key, value, why))


def _network_or_none(text):
    try:
        return ipaddress.IPv4Network(text, strict=True)
    except (ValueError, TypeError):
        return None


def _address_or_none(text):
    try:
        return ipaddress.IPv4Address(text)
    except (ValueError, TypeError):
        return None


def _int_or_none(value):
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _is_host_address(addr, subnet):
    edges = (subnet.network_address, subnet.broadcast_address)
    return addr is not None and addr in subnet and addr not in edges


def _bounded(errors, source, key, value, low, high, why):
    """An integer in [low, high], or None (also for an absent value); errors name the key."""
    if value is None:
        return None
    number = _int_or_none(value)
    if number is None or not low <= number <= high:
        errors.add(source, key, value, why)
        return None
    return number


def _keyed_networks(networks, ingress):
    """(inventory key, network) pairs: errors name the variable the user wrote."""
    keyed = []
    if ingress is not None:     # not a mapping: refused by the checks like any network
        keyed.append(("swarmnet_ingress", dict(ingress, ingress=True) if isinstance(ingress, dict) else ingress))
    return keyed + [("swarmnet_networks[%d]" % i, net) for i, net in enumerate(networks or [])]


def _validate_networks(keyed, source, errors):
    """Check each declared network on its own; return the usable ones by name."""
    good = {}
    ingress_seen = None
    for i, (key, net) in enumerate(keyed):
        if not isinstance(net, dict):
            errors.add(source, key, net, "must be a mapping")
            continue
        name = net.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            errors.add(source, key + ".name", name,
                       "must match %s" % NAME_RE.pattern)
            continue
        if name in good:
            errors.add(source, key + ".name", name, "network declared twice")
            continue
        if name == naming.GWBRIDGE_NETWORK:
            errors.add(source, key + ".name", name, "reserved for the gateway bridge")
            continue
        state = net.get("state", "present")
        if state not in ("present", "absent"):
            errors.add(source, key + ".state", state, "must be present or absent")
            continue
        ingress = bool(net.get("ingress", False))
        if ingress and state == "present":
            if ingress_seen is not None:
                errors.add(source, key + ".ingress", True,
                           "network %r is already the ingress network" % ingress_seen)
                continue
            ingress_seen = name
        encrypted = net.get("encrypted", False)
        if not isinstance(encrypted, bool):
            errors.add(source, key + ".encrypted", encrypted, "must be true or false")
            continue
        entry = {"name": name, "state": state, "ingress": ingress, "encrypted": encrypted, "index": i,
                 "key": key}

        before = len(errors)
        subnet = net.get("subnet")
        if subnet is not None:
            subnet = _network_or_none(subnet)
            if subnet is None or subnet.num_addresses < 4:
                errors.add(source, key + ".subnet", net["subnet"],
                           "not a valid IPv4 CIDR with room for hosts (e.g. 10.0.1.0/24)")
        gateway = net.get("gateway")
        if gateway is not None and "subnet" not in net:
            errors.add(source, key + ".gateway", gateway, "a gateway needs a subnet")
        elif gateway is not None and subnet is not None:
            gateway = _address_or_none(gateway)
            if not _is_host_address(gateway, subnet):
                errors.add(source, key + ".gateway", net["gateway"],
                           "not a host address of subnet %s" % subnet)
        entry.update(
            subnet=subnet, gateway=gateway,
            vni=_bounded(errors, source, key + ".vni", net.get("vni"), 1, naming.MAX_VNI,
                         "VNI must be an integer from 1 to %d" % naming.MAX_VNI),
            data_port=_bounded(errors, source, key + ".data_port",
                               net.get("data_port", naming.DEFAULT_DATA_PORT), 1, 65535,
                               "UDP port must be 1-65535"),
            mtu=_bounded(errors, source, key + ".mtu", net.get("mtu"), 1280, 9000,
                         "MTU must be 1280-9000"))
        if len(errors) > before:
            continue
        good[name] = entry
    return good


def _check_overlaps(nets, source, errors):
    declared = sorted((n for n in nets.values() if n["subnet"] is not None
                       and n["state"] == "present"), key=lambda n: n["index"])
    for i, a in enumerate(declared):
        for b in declared[i + 1:]:
            if a["subnet"].overlaps(b["subnet"]):
                errors.add(source, b["key"] + ".subnet",
                           str(b["subnet"]),
                           "overlaps subnet %s of network %r" % (a["subnet"], a["name"]))


def _allocate_vnis(nets, reported, source, errors):
    """Ingress 4096; declared VNIs as given; others keep a reported VNI or take the lowest free."""
    taken = {}
    for net in sorted(nets.values(), key=lambda n: n["index"]):
        if net["state"] != "present":
            continue
        if net["vni"] is None and net["ingress"]:
            net["vni"] = naming.INGRESS_VNI
        if net["vni"] is not None:
            if net["vni"] in taken:
                errors.add(source, net["key"] + ".vni", net["vni"],
                           "VNI already used by network %r" % taken[net["vni"]])
            else:
                taken[net["vni"]] = net["name"]
    for net in sorted(nets.values(), key=lambda n: n["name"]):
        if net["state"] != "present" or net["vni"] is not None:
            continue
        kept = _reported_values(reported, "networks", net["name"], "vni")
        for vni in kept:
            if vni not in taken and naming.FIRST_USER_VNI <= vni <= naming.MAX_VNI:
                net["vni"] = vni
                taken[vni] = net["name"]
                break
    candidate = naming.FIRST_USER_VNI
    for net in sorted(nets.values(), key=lambda n: n["name"]):
        if net["state"] != "present" or net["vni"] is not None:
            continue
        while candidate in taken:
            candidate += 1
        net["vni"] = candidate
        taken[candidate] = net["name"]


def _reported_values(reported, section, name, field):
    """Values of `field` that hosts report for network `name`, most reported first."""
    counts = {}
    for host in sorted(reported):
        for item in (reported[host] or {}).get(section) or []:
            if item.get("name") == name and item.get(field) is not None:
                counts[item[field]] = counts.get(item[field], 0) + 1
    return sorted(counts, key=lambda v: (-counts[v], str(v)))


def _allocate_subnets(nets, reported, source, errors):
    used = [n["subnet"] for n in nets.values() if n["subnet"] is not None and n["state"] == "present"]
    pending = sorted((n for n in nets.values() if n["subnet"] is None and n["state"] == "present"),
                     key=lambda n: n["name"])
    for net in pending:
        for text in _reported_values(reported, "networks", net["name"], "subnet"):
            candidate = _network_or_none(text)
            if candidate is not None and not any(candidate.overlaps(u) for u in used):
                net["subnet"] = candidate
                used.append(candidate)
                break
    for net in pending:
        if net["subnet"] is not None:
            continue
        if net["ingress"]:
            pool = [ipaddress.IPv4Network(DEFAULT_INGRESS_SUBNET)]
        else:
            pool = DEFAULT_POOL.subnets(new_prefix=DEFAULT_POOL_PREFIX)
        for candidate in pool:
            if not any(candidate.overlaps(u) for u in used):
                net["subnet"] = candidate
                used.append(candidate)
                break
        else:
            errors.add(source, net["key"] + ".subnet", None,
                       "no free subnet left in the default pool %s" % DEFAULT_POOL)
    for net in nets.values():
        if net["subnet"] is not None and net["gateway"] is None:
            net["gateway"] = net["subnet"].network_address + 1


def _validate_hosts(hosts, nets, reported, errors):
    """Per host: advertise address, and each sandbox with its network attachments."""

    def addresses_of(host):
        return (reported.get(host) or {}).get("addresses")

    seen_addr = {}
    attachments = []   # (host, sandbox, network, explicit ip or None, key)
    sandboxes = {}     # host -> {sandbox name: {egress, task, service}}
    for host in sorted(hosts):
        hv = hosts[host] or {}
        addr = hv.get("advertise_addr")
        parsed = _address_or_none(addr)
        if parsed is None:
            errors.add(host, "swarmnet_advertise_addr", addr,
                       "missing or not an IPv4 address (set it, or gather facts so "
                       "ansible_default_ipv4 provides it)")
        elif addresses_of(host) is not None and str(parsed) not in addresses_of(host):
            errors.add(host, "swarmnet_advertise_addr", addr,
                       "not an address of this host (it has %s)" % ", ".join(addresses_of(host)))
        elif str(parsed) in seen_addr:
            errors.add(host, "swarmnet_advertise_addr", addr,
                       "already the advertise address of host %s" % seen_addr[str(parsed)])
        else:
            seen_addr[str(parsed)] = host
        mtu = hv.get("underlay_mtu")
        if mtu is not None and (_int_or_none(mtu) is None or _int_or_none(mtu) < 1330):
            errors.add(host, "swarmnet_underlay_mtu", mtu, "must be an integer >= 1330")
        names = {}
        for i, sb in enumerate(hv.get("sandboxes") or []):
            key = "swarmnet_sandboxes[%d]" % i
            if not isinstance(sb, dict):
                errors.add(host, key, sb, "must be a mapping")
                continue
            name = sb.get("name")
            if not isinstance(name, str) or not naming.SANDBOX_RE.match(name) \
                    or name.startswith(RESERVED_PREFIX):
                errors.add(host, key + ".name", name, "must match %s and not start with %r"
                           % (naming.SANDBOX_RE.pattern, RESERVED_PREFIX))
                continue
            if name in names:
                errors.add(host, key + ".name", name, "sandbox declared twice on this host")
                continue
            if sb.get("state", "present") == "absent":
                continue
            names[name] = {"egress": bool(sb.get("egress", False)), "task": None, "service": None}
            joined = set()
            for j, att in enumerate(sb.get("networks") or []):
                akey = "%s.networks[%d]" % (key, j)
                if isinstance(att, str):
                    att = {"network": att}
                if not isinstance(att, dict):
                    errors.add(host, akey, att, "must be a network name or {network, ip}")
                    continue
                net = att.get("network")
                if net not in nets or nets[net]["state"] != "present":
                    errors.add(host, akey + ".network", net,
                               "unknown network (declare it in swarmnet_networks)"
                               if net not in nets else "network is state=absent")
                    continue
                if net in joined:
                    errors.add(host, akey + ".network", net, "sandbox already attached to it")
                    continue
                joined.add(net)
                attachments.append((host, name, net, att.get("ip"), akey + ".ip"))
        sandboxes[host] = names
    return attachments, sandboxes


def _allocate_ips(attachments, nets, live, errors):
    """Explicit IPs first, then IPs hosts report for live endpoints, then lowest free."""
    used = {}       # (network, ip) -> (host, sandbox)
    result = {}     # (host, sandbox, network) -> IPv4Address
    for net in nets.values():
        if net["subnet"] is not None:
            used[(net["name"], net["gateway"])] = ("*", "gateway")

    for host, sandbox, net, ip, key in attachments:
        if ip is None:
            continue
        subnet = nets[net]["subnet"]
        addr = _address_or_none(ip)
        if not _is_host_address(addr, subnet):
            errors.add(host, key, ip, "not a host address of network %r (%s)" % (net, subnet))
        elif (net, addr) in used:
            owner = used[(net, addr)]
            errors.add(host, key, ip, "already used on network %r by %s/%s" % (net, owner[0], owner[1]))
        else:
            used[(net, addr)] = (host, sandbox)
            result[(host, sandbox, net)] = addr

    pending = [a for a in attachments if a[3] is None]
    for host, sandbox, net, _ip, _key in pending:
        addr = _address_or_none(live.get((host, sandbox, net)))
        if _is_host_address(addr, nets[net]["subnet"]) and (net, addr) not in used:
            used[(net, addr)] = (host, sandbox)
            result[(host, sandbox, net)] = addr

    cursor = {}
    for host, sandbox, net, _ip, key in pending:
        if (host, sandbox, net) in result:
            continue
        subnet = nets[net]["subnet"]
        addr = cursor.get(net, subnet.network_address + 1)
        while addr < subnet.broadcast_address and (net, addr) in used:
            addr += 1
        if addr >= subnet.broadcast_address:
            errors.add(host, key, None, "network %r (%s) has no free address left" % (net, subnet))
            continue
        cursor[net] = addr + 1
        used[(net, addr)] = (host, sandbox)
        result[(host, sandbox, net)] = addr
    return result


def _network_mtu(net, member_hosts, hosts, reported):
    if net["mtu"] is not None:
        return net["mtu"]
    underlay = [_underlay_mtu(host, hosts, reported) for host in member_hosts]
    vxlan_mtu = min(underlay or [DEFAULT_UNDERLAY_MTU]) - naming.VXLAN_OVERHEAD
    return esp.mtu(vxlan_mtu) if net["encrypted"] else vxlan_mtu


def _check_encryption(nets, members, keyring, keyring_required, reported, source, errors):
    """Encrypted networks need a valid keyring and ESP in every member host's kernel."""
    encrypted = sorted((n for n in nets.values() if n["encrypted"] and n["state"] == "present"),
                       key=lambda n: n["index"])
    if not encrypted:
        return
    if keyring is None and keyring_required:
        errors.add(source, "swarmnet_encryption_keyring", None,
                   "encrypted networks need a keyring (the plan role makes one in swarmnet_keyring_file)")
    elif keyring is not None:
        for key, shown, why in esp.parse_keyring(keyring)[2]:
            errors.append("host %s: swarmnet_encryption_keyring%s=%s: %s" % (source, key, shown, why))
    for net in encrypted:
        for host in sorted(members[net["name"]]):
            if (reported.get(host) or {}).get("esp") is False:
                errors.add(host, net["key"] + ".encrypted", True,
                           "network %r is encrypted but this host's kernel has no ESP transform "
                           "(CONFIG_INET_ESP) for IPsec" % net["name"])


def _add_task_sandboxes(services, sandboxes, ingress, errors):
    """Tasks' sandboxes join the hosts' own; returns their attachments."""
    attachments = []
    for host, wanted in sorted(service_plan.sandboxes(services, ingress).items()):
        for sb in wanted:
            key = "swarmnet_services[%d]" % sb["index"]
            if sb["name"] in sandboxes.setdefault(host, {}):
                errors.add(host, key + ".tasks", sb["name"],
                           "a sandbox of this name is also declared in swarmnet_sandboxes")
                continue
            sandboxes[host][sb["name"]] = {"egress": sb["egress"], "task": sb["task"], "service": sb["service"]}
            attachments += [(host, sb["name"], net, None, key + ".networks") for net in sb["networks"]]
    return attachments


def _gwbridge_subnet(text, nets, source, errors):
    subnet = _network_or_none(text)
    if subnet is None or subnet.num_addresses < 8:
        errors.add(source, "swarmnet_gwbridge_subnet", text, "not a valid IPv4 CIDR with room for tasks")
        return None
    for net in nets.values():
        if net["subnet"] is not None and net["state"] == "present" and net["subnet"].overlaps(subnet):
            errors.add(source, "swarmnet_gwbridge_subnet", text,
                       "overlaps subnet %s of network %r" % (net["subnet"], net["name"]))
            return None
    return subnet


def _allocate_gwbridge(sandboxes, subnet, reported, errors):
    """{(host, sandbox): address} on each host's gateway bridge (host-local, like docker_gwbridge)."""
    result = {}
    for host in sorted(sandboxes):
        wanted = sorted(n for n, sb in sandboxes[host].items() if sb["egress"])
        used = {subnet.network_address + 1}
        if naming.INGRESS_SBOX in wanted:
            result[(host, naming.INGRESS_SBOX)] = subnet.network_address + 2
        used.add(subnet.network_address + 2)     # kept for the ingress sandbox on every host
        for ep in (reported.get(host) or {}).get("endpoints") or []:
            addr = _address_or_none(ep.get("ip"))
            if ep.get("network") == naming.GWBRIDGE_NETWORK and ep.get("sandbox") in wanted \
                    and (host, ep["sandbox"]) not in result and _is_host_address(addr, subnet) \
                    and addr not in used:
                result[(host, ep["sandbox"])] = addr
                used.add(addr)
        candidate = subnet.network_address + 3
        for name in wanted:
            if (host, name) in result:
                continue
            while candidate in used:
                candidate += 1
            if candidate >= subnet.broadcast_address:
                errors.add(host, "swarmnet_gwbridge_subnet", str(subnet), "no free address left for %s" % name)
                break
            result[(host, name)] = candidate
            used.add(candidate)
    return result


def _validate_dns(dns, source, errors):
    """swarmnet_dns: {domain?, ttl?, timeout?, upstreams?}; checked here, before any change."""
    if not isinstance(dns, dict):
        errors.add(source, "swarmnet_dns", dns, "must be a mapping {domain, ttl, upstreams}")
        return
    domain = dns.get("domain")
    if domain is not None and (not isinstance(domain, str) or not all(
            service_plan.SERVICE_RE.match(label) for label in domain.split("."))):
        errors.add(source, "swarmnet_dns.domain", domain, "must be DNS labels joined by dots (e.g. swarm.internal)")
    _bounded(errors, source, "swarmnet_dns.ttl", dns.get("ttl"), 0, 86400, "TTL must be 0-86400 seconds")
    timeout = dns.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not 0 < timeout <= 30):
        errors.add(source, "swarmnet_dns.timeout", timeout, "must be more than 0 and at most 30 seconds")
    for i, address in enumerate(dns.get("upstreams") or []):
        if _address_or_none(address) is None:
            errors.add(source, "swarmnet_dns.upstreams[%d]" % i, address, "not an IPv4 address")


def _check_gossip_key(key, required, source, errors):
    """The live layer's cluster key: present when required, well formed; never shown."""
    if key is None:
        if required:
            errors.add(source, "swarmnet_gossip_key", None,
                       "the live layer needs the cluster's gossip key (the plan role makes one in "
                       "swarmnet_gossip_key_file)")
        return
    why = membership.key_error(key)
    if why:
        errors.append("host %s: swarmnet_gossip_key=(hidden): %s" % (source, why))


def build(networks, hosts, reported=None, source=None, services=None, groups=None,
          gwbridge_subnet=DEFAULT_GWBRIDGE_SUBNET, dns=None, keyring=None, keyring_required=True,
          ingress_network=None, gossip_key=None, gossip_key_required=False, start_first="begin"):
    """Return {'hosts': {host: desired state}} or raise PlanError listing every problem.

    `ingress_network` is swarmnet_ingress (or None); `networks` are swarmnet_networks;
    `start_first` one of start_first.MODES (how start-first updates plan their tasks)."""
    reported = reported or {}
    hosts = hosts or {}
    source = source or (sorted(hosts)[0] if hosts else "localhost")
    errors = Errors()

    nets = _validate_networks(_keyed_networks(networks, ingress_network), source, errors)
    _check_overlaps(nets, source, errors)
    _allocate_vnis(nets, reported, source, errors)
    ingress = next((n for n, v in nets.items() if v["ingress"] and v["state"] == "present"), None)
    svcs = service_plan.validate(services or [], nets, ingress, set(hosts), groups or {}, source, errors)
    handover = start_first_plan.apply(svcs, reported, start_first)
    _validate_dns(dns or {}, source, errors)
    _check_gossip_key(gossip_key, gossip_key_required, source, errors)
    attachments, sandboxes = _validate_hosts(hosts, nets, reported, errors)
    attachments += _add_task_sandboxes(svcs, sandboxes, ingress, errors)
    if ingress is not None and service_plan.ingress_ports(svcs):
        for host in hosts:      # the routing mesh: an ingress sandbox on every host
            sandboxes.setdefault(host, {})[naming.INGRESS_SBOX] = {"egress": True, "task": None, "service": None}
            attachments.append((host, naming.INGRESS_SBOX, ingress, None, "swarmnet_ingress"))
    if errors:
        raise PlanError(errors)
    _allocate_subnets(nets, reported, source, errors)
    gw_subnet = _gwbridge_subnet(gwbridge_subnet, nets, source, errors)
    live = _live_endpoints(reported)
    live.update(_endpoints_others_know(hosts, reported, attachments))
    live.update(service_plan.reported_vips(reported, source))
    ips = _allocate_ips(attachments + service_plan.vip_attachments(svcs, source), nets, live, errors)
    gw_ips = _allocate_gwbridge(sandboxes, gw_subnet, reported, errors) if gw_subnet else {}
    if errors:
        raise PlanError(errors)

    present = {n: v for n, v in nets.items() if v["state"] == "present"}
    members = {n: set(hosts) if v["ingress"] else set() for n, v in present.items()}
    for host, _sandbox, net, _ip, _key in attachments:
        members[net].add(host)
    _check_encryption(nets, members, keyring, keyring_required, reported, source, errors)
    if errors:
        raise PlanError(errors)
    mtus = {n: _network_mtu(v, sorted(members[n]), hosts, reported) for n, v in present.items()}
    fwmarks = service_plan.allocate_fwmarks(svcs, reported)
    registered = service_plan.registry(svcs, ips, fwmarks, source)
    live_sandboxes = {(h, sb) for h, sb, _net in live if not str(sb).startswith("vip:")}
    # Before tasks stop, sandboxes that stay balance only over tasks that stay and already run.
    draining = service_plan.running_only(registered, live_sandboxes)

    endpoints = []
    for host, sandbox, net, _ip, _key in attachments:
        ip = ips[(host, sandbox, net)]
        endpoints.append({"host": host, "sandbox": sandbox, "network": net,
                          "ip": str(ip), "mac": naming.endpoint_mac(ip)})

    low_pools = pools.warnings(present, ips, gw_subnet, gw_ips)
    result = {}
    # What a sandbox balances depends on its networks only (and the ingress sandbox's address): worked
    # out once for every sandbox that shares them, on every host (45 sandboxes on a host of 40 services).
    balanced = {}

    def balancing(registry, which, sandbox_networks, ingress_address):
        key = (which, frozenset(sandbox_networks), ingress_address)
        if key not in balanced:
            balanced[key] = service_plan.balancing(registry, sandbox_networks, ingress_address, ingress)
        return balanced[key]

    for host in sorted(hosts):
        addr = str(hosts[host]["advertise_addr"])
        my_nets = sorted(n for n in present if host in members[n])
        desired = {      # balancing (lb*) is written per sandbox here, shared (lb.shared) below
            "advertise_addr": addr,
            "networks": [_network_view(present[n], mtus[n], addr) for n in my_nets],
            "sandboxes": [],
            "peers": {},
            "lb": [],           # what every sandbox balances, in full
            "lb_drain": [],     # before tasks stop: only tasks that stay and already run
            "lb_fill": [],      # after tasks start: what lb_drain left short (all if none ran)
            "tasks": [],
        }
        gw_local = {sb: str(ip) for (h, sb), ip in gw_ips.items() if h == host}
        for sandbox in sorted(sandboxes.get(host, {})):
            mine = [e for e in endpoints if e["host"] == host and e["sandbox"] == sandbox]
            views = [_endpoint_view(e, present[e["network"]], mtus[e["network"]], i) for i, e in enumerate(mine)]
            if sandbox in gw_local:
                views.append(_gwbridge_view(gw_local[sandbox], gw_subnet, len(views),
                                            _underlay_mtu(host, hosts, reported)))
            desired["sandboxes"].append({"name": sandbox, "endpoints": views})
            info = sandboxes[host][sandbox]
            if info["task"] is not None:
                svc = next(s for s in svcs if s["name"] == info["service"])
                task = next(t for t in svc["tasks"] if t["name"] == info["task"] and t["host"] == host)
                if "applied" in task:       # kept as the last converge applied it (start-first)
                    desired["tasks"].append(dict(task["applied"]))
                elif task["command"] is not None:
                    desired["tasks"].append(dict({"name": task["name"], "service": info["service"],
                                                  "sandbox": sandbox, "command": task["command"]}, **svc["process"]))
            ingress_address = gw_local.get(sandbox) if sandbox == naming.INGRESS_SBOX else None
            sandbox_networks = {e["network"] for e in mine}
            desired["lb"].append({"sandbox": sandbox,
                                  "services": balancing(registered, "lb", sandbox_networks, ingress_address)})
            drained = None
            if (host, sandbox) in live_sandboxes:
                drained = {"sandbox": sandbox,
                           "services": balancing(draining, "drain", sandbox_networks, ingress_address)}
                desired["lb_drain"].append(drained)
            if drained != desired["lb"][-1]:    # what the drain did not already program
                desired["lb_fill"].append(desired["lb"][-1])
        for key in ("lb", "lb_drain", "lb_fill"):
            desired[key] = lb.shared(desired[key])
        for net in my_nets:
            desired["peers"][net] = sorted(
                ({"ip": e["ip"], "mac": e["mac"],
                  "vtep": str(hosts[e["host"]]["advertise_addr"])}
                 for e in endpoints if e["network"] == net and e["host"] != host),
                key=lambda p: ipaddress.IPv4Address(p["ip"]))
        secret = [n for n in my_nets if present[n]["encrypted"]]
        desired["encryption"] = {
            "networks": [{"name": n, "vni": present[n]["vni"], "data_port": present[n]["data_port"]}
                         for n in secret],
            "peers": sorted({str(hosts[h]["advertise_addr"]) for n in secret for h in members[n] if h != host},
                            key=ipaddress.IPv4Address),
        }
        desired["firewall"] = {
            "peers": sorted((str(hosts[h]["advertise_addr"]) for h in hosts if h != host),
                            key=ipaddress.IPv4Address),
            "tcp_ports": [naming.CONTROL_PORT],
            "udp_ports": sorted({naming.CONTROL_PORT} | {present[n]["data_port"] for n in present}),
            "esp": bool(secret),
        }
        desired["gwbridge"] = None if not gw_local else {
            "name": naming.GWBRIDGE, "address": "%s/%d" % (gw_subnet.network_address + 1, gw_subnet.prefixlen)}
        desired["mesh"] = {
            "ingress": [dict(p, address=gw_local[naming.INGRESS_SBOX])
                        for p in service_plan.ingress_ports(svcs)] if naming.INGRESS_SBOX in gw_local else [],
            "host": service_plan.host_ports(registered, host, gw_local),
            "egress_subnet": str(gw_subnet) if gw_local else None,
        }
        desired["services"] = registered
        # The live layer: Serf joins every other host; the agent watches this host's tasks (below, once
        # the rollout says which roll).
        desired["live"] = {
            "peers": [{"name": h, "address": str(hosts[h]["advertise_addr"])} for h in sorted(hosts) if h != host],
        }
        # Service discovery: every sandbox but the ingress one, with the networks it can resolve on.
        desired["dns"] = {"sandboxes": {
            sb["name"]: sorted(ep["network"] for ep in sb["endpoints"]
                               if ep["network"] not in (naming.GWBRIDGE_NETWORK, ingress))
            for sb in desired["sandboxes"] if sb["name"] != naming.INGRESS_SBOX}}
        live_host = reported.get(host) or {}
        desired["absent_networks"] = sorted(
            {n.get("name") for n in live_host.get("networks") or []} - set(my_nets) - {None})
        desired["absent_sandboxes"] = sorted(
            {e.get("sandbox") for e in live_host.get("endpoints") or []}
            - set(sandboxes.get(host, {})) - {None})
        desired["absent_tasks"] = sorted(
            set(live_host.get("tasks") or []) - {t["name"] for t in desired["tasks"]})
        result[host] = desired
    if not _anything_leaves(result, registered, reported):
        # The drain only takes leaving tasks out before they stop: without any, the balancing
        # is one pass after tasks start (a scale-up costs what a no-op does, plus the new task).
        for desired in result.values():
            desired["lb_drain"], desired["lb_fill"] = [], desired["lb"]
    batches = rollout.batches(svcs, result, reported)
    for host, desired in result.items():
        desired["live"]["tasks"] = service_plan.probed_tasks(svcs, registered, host, reported,
                                                             rollout.rolling(batches, host))
    return {"hosts": result, "warnings": low_pools, "rollout": batches, "handover": handover}


def _anything_leaves(result, registered, reported):
    """Whether a task or a sandbox stops on some host, or a balanced address goes anywhere."""
    return any(desired["absent_tasks"] or desired["absent_sandboxes"] for desired in result.values()) \
        or service_plan.backends_leave(registered, reported)


def _live_endpoints(reported):
    live = {}
    for host in sorted(reported):
        for ep in (reported[host] or {}).get("endpoints") or []:
            live[(host, ep.get("sandbox"), ep.get("network"))] = ep.get("ip")
    return live


def _endpoints_others_know(hosts, reported, attachments):
    """Endpoints of hosts that did not report this run (unreachable), as the others know them:
    task addresses from their service registries, then the peers they have at the host's VTEP.
    A host that is down keeps its addresses, so its peers and backends stay where they are."""
    silent = {str(hosts[h].get("advertise_addr")): h for h in sorted(hosts) if h not in reported}
    if not reported or not silent:
        return {}
    known, seen = {}, {}     # seen: (host, network) -> addresses other hosts point at its VTEP
    for other in sorted(reported):
        for svc in reported[other].get("services") or []:
            for task in svc.get("tasks") or []:
                if task.get("host") in silent.values():
                    for net, ip in (task.get("addresses") or {}).items():
                        known.setdefault((task["host"], task.get("sandbox"), net), ip)
        for net in reported[other].get("networks") or []:
            for peer in net.get("peers") or []:
                host = silent.get(peer.get("vtep"))
                addr = _address_or_none(peer.get("ip"))
                if host is not None and addr is not None:
                    seen.setdefault((host, net.get("name")), set()).add(addr)
    for host, sandbox, net, ip, _key in attachments:
        if host in silent.values() and ip is None and (host, sandbox, net) not in known:
            taken = {_address_or_none(v) for (h, _s, n), v in known.items() if (h, n) == (host, net)}
            left = sorted(seen.get((host, net), set()) - taken)
            if left:
                known[(host, sandbox, net)] = str(left[0])
    return known


def _underlay_mtu(host, hosts, reported):
    return int((hosts.get(host) or {}).get("underlay_mtu") or
               (reported.get(host) or {}).get("underlay_mtu") or DEFAULT_UNDERLAY_MTU)


def _gwbridge_view(address, subnet, index, mtu):
    return {
        "network": naming.GWBRIDGE_NETWORK,
        "netns": None,
        "bridge": naming.GWBRIDGE,
        "ifname": "eth%d" % index,
        "address": "%s/%d" % (address, subnet.prefixlen),
        "mac": naming.endpoint_mac(address),
        "mtu": mtu,
        "gateway": str(subnet.network_address + 1),
    }


def _network_view(net, mtu, local):
    return {
        "name": net["name"],
        "netns": naming.network_netns(net["name"]),
        "ingress": net["ingress"],
        "vni": net["vni"],
        "subnet": str(net["subnet"]),
        "gateway": "%s/%d" % (net["gateway"], net["subnet"].prefixlen),
        "data_port": net["data_port"],
        "encrypted": net["encrypted"],
        "mtu": mtu,
        "local": local,
    }


def _endpoint_view(ep, net, mtu, index):
    return {
        "network": ep["network"],
        "netns": naming.network_netns(ep["network"]),
        "ifname": "eth%d" % index,
        "address": "%s/%d" % (ep["ip"], net["subnet"].prefixlen),
        "mac": ep["mac"],
        "mtu": mtu,
    }
