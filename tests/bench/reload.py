#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make bench: reloads through the real daemon, as an operator sees them.

usage: reload.py PID LOG POLICY FILE...

For each FILE in turn: put it in place of POLICY (a rename, as editors do),
reset the daemon's peak RSS (clear_refs 5), send SIGHUP and wait for the
next "reload: applied" in LOG. Prints one line per reload: the seconds from
the signal to that line, and the daemon's peak RSS (VmHWM, KiB) over it.
A "reload: rejected" or no answer within 30 s is an error.
"""
import os
import shutil
import signal
import sys
import time


def hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def main():
    pid, log, policy, files = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
    tmp = policy + ".next"
    for src in files:
        # the last reload's cleanup (maps_collect) runs after its log line: let it end
        time.sleep(0.5)
        shutil.copyfile(src, tmp)
        os.rename(tmp, policy)
        with open(log, "rb") as f:
            f.seek(0, os.SEEK_END)
            at = f.tell()
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        t0 = time.monotonic()
        os.kill(pid, signal.SIGHUP)
        seen = b""
        while True:
            with open(log, "rb") as f:
                f.seek(at)
                more = f.read()
            at += len(more)
            seen += more
            if b"reload: applied" in seen:
                t1 = time.monotonic()
                break
            if b"reload: rejected" in seen:
                sys.exit(f"reload.py: {src} rejected:\n{seen.decode(errors='replace')}")
            if time.monotonic() - t0 > 30:
                sys.exit(f"reload.py: no 'reload: applied' 30 s after SIGHUP ({src})")
            time.sleep(0.0005)
        print(f"{t1 - t0:.4f} {hwm_kib(pid)}", flush=True)


if __name__ == "__main__":
    main()
