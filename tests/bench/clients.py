#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make bench, many clients: UDP from N source addresses, each at its own rate.

send SRC_PREFIX N DST PORT RATE_BPS SECS PAYLOAD
    one socket per source SRC_PREFIX.<i> (i = 1..N, over /24s: see addr()),
    each sending PAYLOAD-byte datagrams at RATE_BPS of L2 frames; prints
    packets sent and this process's system CPU seconds, as JSON.
recv BIND PORT SECS
    counts L2 bytes per source address for SECS from the first datagram,
    prints them as JSON.
"""
import json
import resource
import socket
import sys
import time

L2_OVERHEAD = 14 + 20 + 8   # Ethernet + IPv4 + UDP: what tc's shapers count


def addr(base, i):
    """The i-th client address: 198.18.<base + i // 250>.<1 + i % 250>."""
    a, b, c, _ = base.split(".")
    return f"{a}.{b}.{int(c) + i // 250}.{1 + i % 250}"


def send(base, n, dst, port, rate, secs, payload):
    socks = []
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((addr(base, i), 0))
        s.setblocking(False)
        socks.append(s)
    data = b"x" * payload
    interval = (payload + L2_OVERHEAD) * 8 / rate   # one datagram per client per round
    sent = dropped = 0
    t0 = time.monotonic()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    rnd = 0
    while True:
        at = t0 + rnd * interval
        now = time.monotonic()
        if at >= t0 + secs:
            break
        if at > now:
            time.sleep(at - now)
        for s in socks:
            try:
                s.sendto(data, (dst, port))
                sent += 1
            except (BlockingIOError, OSError):
                dropped += 1
        rnd += 1
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"sent": sent, "send_errors": dropped, "rounds": rnd,
                      "sys_s": r1.ru_stime - r0.ru_stime, "user_s": r1.ru_utime - r0.ru_utime}))


def recv(bind, port, secs):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((bind, port))
    s.settimeout(0.2)
    got = {}
    # SECS from the first datagram: what a shaper's queue still holds when
    # the senders stop is not counted as delivered within the window
    end = time.monotonic() + 3 * secs + 5
    started = False
    while time.monotonic() < end:
        try:
            data, (src, _) = s.recvfrom(65536)
        except socket.timeout:
            continue
        if not started:
            started, end = True, time.monotonic() + secs
        got[src] = got.get(src, 0) + len(data) + L2_OVERHEAD
    print(json.dumps(got))


if __name__ == "__main__":
    if sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), float(sys.argv[6]),
             float(sys.argv[7]), int(sys.argv[8]))
    else:
        recv(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
