#!/usr/bin/env python3
"""Runs a command and writes what it cost, as /usr/bin/time -f '%e %U %S %M'
would, with microseconds instead of hundredths of a second.

Usage: timed.py OUT CMD [ARGS...]

OUT gets one line: wall seconds, user and system CPU seconds and peak RSS
(KiB) of CMD's own process (wait4's rusage: its children are not counted
unless it waits for them). Exits with CMD's status (128 + N after signal N).
"""
import os
import sys
import time


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, cmd = sys.argv[1], sys.argv[2:]
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    while True:
        try:
            _, status, ru = os.wait4(pid, 0)
            break
        except InterruptedError:
            continue
    wall = time.monotonic() - t0
    with open(out, "w") as f:
        f.write(f"{wall:.6f} {ru.ru_utime:.6f} {ru.ru_stime:.6f} {ru.ru_maxrss}\n")
    sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


if __name__ == "__main__":
    main()
