"""Send one plaintext VXLAN datagram as a raw Ethernet frame, bypassing this host's own
firewall and IPsec policies: what an attacker holding a peer's address could put on the wire.

usage: inject_vxlan.py DST_MAC SRC_IP DST_IP DATA_PORT VNI INNER_DST_MAC INNER_SRC_MAC
                       INNER_SRC_IP INNER_DST_IP INNER_PORT
       inject_vxlan.py --mac-of ADDRESS   (the MAC of the interface holding ADDRESS)
The frame leaves by the interface holding SRC_IP; the inner frame is a UDP datagram
"swarmnet-injected" to INNER_DST_IP:INNER_PORT.
"""
import fcntl
import socket
import struct
import sys


def checksum(header):
    total = sum(struct.unpack("!%dH" % (len(header) // 2), header))
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(src, dst, payload):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64, socket.IPPROTO_UDP, 0,
                         socket.inet_aton(src), socket.inet_aton(dst))
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:] + payload


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload    # checksum 0: none (IPv4)


def mac(text):
    return bytes.fromhex(text.replace(":", ""))


def interface_of(address):
    """The interface holding IPv4 `address` (SIOCGIFADDR on each)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _index, name in socket.if_nameindex():
        try:
            raw = fcntl.ioctl(probe.fileno(), 0x8915, struct.pack("256s", name.encode()))
        except OSError:
            continue
        if socket.inet_ntoa(raw[20:24]) == address:
            return name
    raise SystemExit("no interface holds %s" % address)


def own_mac(iface):
    with open("/sys/class/net/%s/address" % iface) as f:
        return f.read().strip()


def main(dst_mac, src_ip, dst_ip, port, vni, in_dst_mac, in_src_mac, in_src_ip, in_dst_ip, in_port):
    inner = mac(in_dst_mac) + mac(in_src_mac) + b"\x08\x00" + \
        ipv4(in_src_ip, in_dst_ip, udp(40000, int(in_port), b"swarmnet-injected"))
    vxlan = struct.pack("!II", 0x08000000, int(vni) << 8) + inner
    iface = interface_of(src_ip)
    frame = mac(dst_mac) + mac(own_mac(iface)) + b"\x08\x00" + ipv4(src_ip, dst_ip, udp(40001, int(port), vxlan))
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((iface, 0))
    sock.send(frame)
    sock.close()


if __name__ == "__main__":
    if sys.argv[1] == "--mac-of":
        print(own_mac(interface_of(sys.argv[2])))
    else:
        main(*sys.argv[1:])
