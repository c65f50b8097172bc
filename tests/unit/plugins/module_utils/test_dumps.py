"""dumps.Reader's handling of the kernel's answers: the datagrams a dump gets are written beforehand into
the other end of a datagram socket pair, as the kernel would send them (the reads themselves against the
kernel: tests/integration/test_kernel.py)."""

import errno
import socket
import struct

import pytest

from ansible_collections.swarmnet.overlay.plugins.module_utils.kernel import dumps
from pyroute2.netlink import NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_MULTI, NLMSG_DONE, NLMSG_ERROR
from pyroute2.netlink.exceptions import NetlinkDumpInterrupted, NetlinkError
from pyroute2.netlink.rtnl import RTM_NEWLINK
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

HEADER = "IHHII"        # length, type, flags, sequence number, port


def link(seq, index, name, flags=0):
    msg = ifinfmsg()
    msg["header"]["type"] = RTM_NEWLINK
    msg["header"]["flags"] = NLM_F_MULTI | flags
    msg["header"]["sequence_number"] = seq
    msg["index"] = index
    msg["attrs"] = [("IFLA_IFNAME", name)]
    msg.encode()
    return bytes(msg.data)


def done(seq, flags=0):
    return struct.pack(HEADER, 20, NLMSG_DONE, NLM_F_MULTI | flags, seq, 0) + struct.pack("i", 0)


def error(seq, code):
    """NLMSG_ERROR, with the request it answers (a link dump's: its header and an empty ifinfmsg)."""
    request = struct.pack(HEADER, 32, 18, 0, seq, 0) + bytes(16)
    return struct.pack(HEADER, 16 + 4 + len(request), NLMSG_ERROR, 0, seq, 0) + struct.pack("i", -code) + request


@pytest.fixture()
def kernel():
    """(a Reader, the end that plays the kernel: what it sent, and what it answers)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    reader = dumps.Reader(sock=ours)
    yield reader, theirs
    reader.close()
    theirs.close()


def answer(theirs, *datagrams):
    for datagram in datagrams:
        theirs.send(datagram)


def sent(theirs):
    """The headers (length, type, flags, sequence number, port) of the requests the reader sent."""
    theirs.setblocking(False)
    headers = []
    while True:
        try:
            headers.append(struct.unpack_from(HEADER, theirs.recv(4096)))
        except BlockingIOError:
            return headers


def requests(theirs):
    """The sequence numbers of the requests the reader sent."""
    return [header[3] for header in sent(theirs)]


def test_a_dump_of_several_datagrams_is_read_to_its_end(kernel):
    reader, theirs = kernel
    answer(theirs, link(1, 1, "lo") + link(1, 2, "eth0"), link(1, 3, "eth1"), done(1))
    assert [msg.get("IFLA_IFNAME") for msg in reader.get_links()] == ["lo", "eth0", "eth1"]
    assert requests(theirs) == [1]


def test_a_dump_the_kernel_marks_inconsistent_is_asked_again(kernel):
    reader, theirs = kernel
    answer(theirs, link(1, 1, "lo", NLM_F_DUMP_INTR), done(1, NLM_F_DUMP_INTR),
           link(2, 1, "lo") + link(2, 2, "eth0") + done(2))
    assert [msg["index"] for msg in reader.get_links()] == [1, 2]
    assert requests(theirs) == [1, 2]


def test_a_dump_that_stays_inconsistent_fails(kernel):
    reader, theirs = kernel
    answer(theirs, *[link(seq, 1, "lo") + done(seq, NLM_F_DUMP_INTR) for seq in range(1, dumps.ATTEMPTS + 1)])
    with pytest.raises(NetlinkDumpInterrupted):
        reader.get_links()
    assert requests(theirs) == list(range(1, dumps.ATTEMPTS + 1))


def test_an_error_answer_is_raised_with_its_code(kernel):
    reader, theirs = kernel
    answer(theirs, error(1, errno.EOPNOTSUPP))
    with pytest.raises(NetlinkError) as raised:
        reader.get_links()
    assert raised.value.code == errno.EOPNOTSUPP


def test_an_answer_to_another_request_is_skipped(kernel):
    reader, theirs = kernel
    answer(theirs, link(7, 9, "stale") + done(7), link(1, 1, "lo") + done(1))
    assert [msg.get("IFLA_IFNAME") for msg in reader.get_links()] == ["lo"]


def test_one_link_is_asked_by_itself(kernel):
    reader, theirs = kernel
    answer(theirs, link(1, 2, "eth0"), error(2, errno.ENODEV))
    assert [msg.get("IFLA_IFNAME") for msg in reader.get_links(2)] == ["eth0"]
    with pytest.raises(NetlinkError) as raised:
        reader.get_links(9)
    assert raised.value.code == errno.ENODEV
    assert [(flags & NLM_F_DUMP, seq) for _length, _kind, flags, seq, _port in sent(theirs)] == [(0, 1), (0, 2)]


def test_nothing_but_reads_is_made(kernel):
    reader, _theirs = kernel
    with pytest.raises(ValueError, match="only reads"):
        reader.fdb("add", ifindex=2)
