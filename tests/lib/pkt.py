#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""
Packets the e2e tier cannot get from iperf3, built by hand (Python's standard
library only): UDP datagrams cut into IP fragments sent in any order from a
packet socket, the far end of a tun device, and a paced UDP sender and a
counting receiver. Every command runs for a bounded time and prints one line
of numbers.

  pkt.py frags DEV DST_MAC SRC DST DPORT SIZE BPS SECS forward|reverse
  pkt.py udp-send DST DPORT SIZE BPS SECS
  pkt.py udp-count BIND PORT SECS           -> "BYTES DATAGRAMS" (payload)
  pkt.py tun DEV SRC DST DPORT SIZE BPS SECS -> "BYTES PACKETS" read off DEV
        writes UDP from SRC to DST:DPORT into the tun device (its ingress) at
        BPS, and counts what the kernel sends out of it (its egress) to DPORT+1
"""
import fcntl
import ipaddress
import os
import select
import socket
import struct
import sys
import time

ETH_P_IP, ETH_P_IPV6 = 0x0800, 0x86DD


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp(src, dst, sport, dport, payload):
    """A UDP header and payload with its checksum over the pseudo-header."""
    ln = 8 + len(payload)
    if src.version == 4:
        pseudo = src.packed + dst.packed + struct.pack("!BBH", 0, 17, ln)
    else:
        pseudo = src.packed + dst.packed + struct.pack("!IxxxB", ln, 17)
    hdr = struct.pack("!HHHH", sport, dport, ln, 0)
    c = csum(pseudo + hdr + payload) or 0xFFFF
    return struct.pack("!HHHH", sport, dport, ln, c) + payload


def ipv4(src, dst, proto, body, ident=0, frag=0):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), ident, frag, 64, proto, 0,
                    src.packed, dst.packed)
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + body


def ipv6(src, dst, nh, body):
    return struct.pack("!IHBB16s16s", 6 << 28, len(body), nh, 64, src.packed,
                       dst.packed) + body


def fragments(src, dst, dport, size, ident, chunk=1232):
    """One UDP datagram of SIZE payload bytes as IP fragments, first first."""
    l4 = udp(src, dst, 4000, dport, bytes(size))
    out = []
    for off in range(0, len(l4), chunk):
        part, more = l4[off:off + chunk], off + chunk < len(l4)
        if src.version == 4:
            out.append(ipv4(src, dst, 17, part, ident, (off // 8) | (more << 13)))
        else:
            fh = struct.pack("!BxHI", 17, off | more, ident)
            out.append(ipv6(src, dst, 44, fh + part))
    return out


def pace(bps, secs, nbytes, send):
    """Call send() every nbytes * 8 / bps seconds for secs seconds."""
    gap, t0 = nbytes * 8 / bps, time.monotonic()
    n = 0
    while time.monotonic() - t0 < secs:
        send(n)
        n += 1
        delay = t0 + n * gap - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    return n


def cmd_frags(dev, dst_mac, src, dst, dport, size, bps, secs, order):
    src, dst = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    dport, size = int(dport), int(size)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((dev, 0))
    eth = bytes.fromhex(dst_mac.replace(":", "")) + bytes.fromhex(
        open("/sys/class/net/%s/address" % dev).read().strip().replace(":", "")) + \
        struct.pack("!H", ETH_P_IP if src.version == 4 else ETH_P_IPV6)
    wire = sum(len(f) for f in fragments(src, dst, dport, size, 0))

    def send(n):
        fr = fragments(src, dst, dport, size, (n + 1) & 0xFFFF)
        for f in (reversed(fr) if order == "reverse" else fr):
            s.send(eth + f)

    n = pace(int(bps), float(secs), wire, send)
    print(n, wire)


def cmd_udp_send(dst, dport, size, bps, secs):
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    data = bytes(int(size))
    n = pace(int(bps), float(secs), int(size), lambda n: s.sendto(data, (dst, int(dport))))
    print(n)


def cmd_udp_count(bind, port, secs):
    fam = socket.AF_INET6 if ":" in bind else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((bind, int(port)))
    end = time.monotonic() + float(secs)
    nbytes = ndgrams = 0
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        if select.select([s], [], [], left)[0]:
            nbytes += len(s.recv(65536))
            ndgrams += 1
    print(nbytes, ndgrams)


TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000


def cmd_tun(dev, src, dst, dport, size, bps, secs):
    src, dst, dport = ipaddress.ip_address(src), ipaddress.ip_address(dst), int(dport)
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", dev.encode(), IFF_TUN | IFF_NO_PI))
    body = udp(src, dst, 4000, dport, bytes(int(size)))
    pkt = ipv4(src, dst, 17, body) if src.version == 4 else ipv6(src, dst, 17, body)
    got = [0, 0]

    def drain():
        while True:
            try:
                p = os.read(fd, 65536)
            except BlockingIOError:
                return
            v = p[0] >> 4
            l4 = 20 if v == 4 else 40
            nh = p[9] if v == 4 else p[6]
            if nh == 17 and struct.unpack("!H", p[l4 + 2:l4 + 4])[0] == dport + 1:
                got[0] += len(p)
                got[1] += 1

    def send(n):
        os.write(fd, pkt)
        drain()

    pace(int(bps), float(secs), len(pkt), send)
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        drain()
        time.sleep(0.01)
    print(got[0], got[1])


CMDS = {"frags": cmd_frags, "udp-send": cmd_udp_send, "udp-count": cmd_udp_count,
        "tun": cmd_tun}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in CMDS:
        sys.exit(__doc__)
    CMDS[sys.argv[1]](*sys.argv[2:])
