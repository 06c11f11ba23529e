#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make bench, many clients: UDP from N source addresses, each at its own rate.

send SRC_BASE N DST PORT RATE_BPS SECS PAYLOAD DRAIN
    one socket per source address (i = 0..N-1, over /24s: see addr()),
    each sending PAYLOAD-byte datagrams at RATE_BPS of L2 frames for SECS;
    then DRAIN seconds more for what a queueing shaper still holds to leave.
    Prints, as JSON, the datagrams sent, this process's system time while
    sending ("sys_s": with tick accounting that holds the softirq work done
    in its context, the veth delivery and whatever the qdisc dequeues then),
    and the whole machine's softirq time over the run and DRAIN ("softirq_s":
    where a queueing shaper's later dequeues run, on any core), and its
    kernel ("kernel_s") and busy ("busy_s") time, which hold the neighbours'
    work too: compare any of them only within one run.
recv BIND PORT SECS
    counts L2 bytes per source address for SECS from the first datagram,
    prints them ("bytes") and this process's system time, as JSON.
"""
import json
import os
import resource
import socket
import sys
import time

L2_OVERHEAD = 14 + 20 + 8   # Ethernet + IPv4 + UDP: what tc's shapers count
BATCH = 10


def addr(base, i):
    """The i-th client address: 198.18.<base + i // 250>.<1 + i % 250>."""
    a, b, c, _ = base.split(".")
    return f"{a}.{b}.{int(c) + i // 250}.{1 + i % 250}"


def cpu_ticks():
    """(kernel, softirq, busy) ticks of all cores: /proc/stat's first line."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal
    return v[2] + v[5] + v[6], v[5] + v[6], sum(v[:8]) - v[3] - v[4]


def send(base, n, dst, port, rate, secs, payload, drain):
    socks = []
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((addr(base, i), 0))
        s.setblocking(False)
        socks.append(s)
    data = b"x" * payload
    # batches of at most BATCH datagrams, the clients in turn, so that the
    # sender's cadence (and what a queueing shaper does between batches)
    # is the same for every client count
    batch = min(n, BATCH)
    interval = batch * (payload + L2_OVERHEAD) * 8 / (n * rate)
    sent = dropped = 0
    c0 = cpu_ticks()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    k = 0
    while True:
        at = t0 + k * interval
        now = time.monotonic()
        if at >= t0 + secs:
            break
        if at > now:
            time.sleep(at - now)
        for j in range(k * batch, (k + 1) * batch):
            try:
                socks[j % n].sendto(data, (dst, port))
                sent += 1
            except (BlockingIOError, OSError):
                dropped += 1
        k += 1
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    time.sleep(drain)
    c1 = cpu_ticks()
    hz = os.sysconf("SC_CLK_TCK")
    print(json.dumps({"sent": sent, "send_errors": dropped,
                      "window_s": time.monotonic() - t0,
                      "kernel_s": (c1[0] - c0[0]) / hz, "softirq_s": (c1[1] - c0[1]) / hz,
                      "busy_s": (c1[2] - c0[2]) / hz,
                      "sys_s": r1.ru_stime - r0.ru_stime}))


def recv(bind, port, secs):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((bind, port))
    s.settimeout(0.2)
    got = {}
    r0 = resource.getrusage(resource.RUSAGE_SELF)
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
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"sys_s": r1.ru_stime - r0.ru_stime, "bytes": got}))


if __name__ == "__main__":
    if sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), float(sys.argv[6]),
             float(sys.argv[7]), int(sys.argv[8]), float(sys.argv[9]))
    else:
        recv(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
