#!/usr/bin/env python3
"""bench/stalled's two steps (see bench/stalled).

Sampling, while the daemon runs:
  stalled_run.py --timer-pid PID --fake URL --metrics URL --stall S
                 --before S --out SUMMARY.json
waits until the daemon (the child of PID, /usr/bin/time) has deleted a
message, samples its VmRSS, the fake's counts (GET /__stats: messages
served and deleted) and the budget's bytes held (/metrics) every 150 ms
for --before seconds, then holds DynamoDB's answers --stall seconds (POST
/__control?dynamodb_latency=), answers at once again and samples until the
daemon exits. Prints the figures; writes them to SUMMARY.json. Exits 1
when the daemon never wrote or did not exit within 10 minutes of the
stall's end.

The row, once the daemon and the fake have stopped:
  stalled_run.py --row CASE --messages N --summary SUMMARY.json
                 --stats STATS.json --time TIME
prints the benchmark row (section "memory") from the summary, the fake's
final counts and time(1)'s "wall user sys maxrss_kib"; exits 1 unless
every message was deleted exactly once.
"""
import argparse
import json
import os
import sys
import time
import urllib.request

PERIOD = 0.15


def get(url, timeout=2.0, data=None):
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read().decode()


def child_of(pid):
    """The daemon: the first child of /usr/bin/time."""
    for _ in range(200):
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                kids = f.read().split()
            if kids:
                return int(kids[0])
        except OSError:
            return None
        time.sleep(0.05)
    return None


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def held_bytes(metrics):
    try:
        for line in get(metrics, timeout=1.0).splitlines():
            if line.startswith("pipelined_memory_held_bytes "):
                return int(float(line.split()[1]))
    except (OSError, ValueError):
        pass
    return None


def sample(args, pid, t0, phase):
    rss = rss_kib(pid)
    if rss is None:
        return None
    try:
        m = json.loads(get(args.fake + "/__stats"))["messages"]
    except (OSError, ValueError, KeyError):
        return None
    return {"t": round(time.monotonic() - t0, 3), "phase": phase, "rss_kib": rss,
            "served": m["served"], "deleted": m["deleted"],
            "held_bytes": held_bytes(args.metrics)}


def mib(kib):
    return kib / 1024


def sampling(args):
    pid = child_of(args.timer_pid)
    if pid is None:
        sys.exit("stalled_run.py: the daemon did not start")
    t0 = time.monotonic()
    samples = []
    # Until the daemon writes (DescribeTable, the first receives).
    while True:
        s = sample(args, pid, t0, "start")
        if s is None:
            sys.exit("stalled_run.py: the daemon stopped before it wrote anything")
        if s["deleted"] > 0:
            break
        if time.monotonic() - t0 > 60:
            sys.exit("stalled_run.py: nothing deleted in 60 s")
        time.sleep(PERIOD)

    def phase(name, until):
        while until is None or time.monotonic() < until:
            s = sample(args, pid, t0, name)
            if s is None:
                return False
            samples.append(s)
            time.sleep(PERIOD)
        return True

    phase("before", time.monotonic() + args.before)
    get(args.fake + f"/__control?dynamodb_latency={int(args.stall * 1000)}", data=b"")
    t_on = time.monotonic()
    phase("stall", t_on + args.stall)
    get(args.fake + "/__control?dynamodb_latency=0", data=b"")
    t_off = time.monotonic()
    phase("after", t_off + 600)
    if rss_kib(pid) is not None:
        sys.exit("stalled_run.py: the daemon was still running 10 minutes after the stall")

    before = [s for s in samples if s["phase"] == "before"]
    stall = [s for s in samples if s["phase"] == "stall"]
    after = [s for s in samples if s["phase"] == "after"]
    if not before or not stall:
        sys.exit("stalled_run.py: the daemon stopped before the stall ended: give it more messages")
    peak = max(stall, key=lambda s: s["rss_kib"])
    end = stall[-1]
    out = {
        "stall_s": args.stall,
        "rss_before_kib": max(s["rss_kib"] for s in before),
        "rss_stall_peak_kib": peak["rss_kib"],
        "peak_at_s": round(peak["t"] - (t_on - t0), 1),
        "held_at_peak": peak["served"] - peak["deleted"],
        "held_bytes_at_peak": peak["held_bytes"],
        "held_at_stall_end": end["served"] - end["deleted"],
        "rss_after_peak_kib": max((s["rss_kib"] for s in after), default=None),
        "drain_s": round(after[-1]["t"] - (t_off - t0), 1) if after else 0,
        "samples": len(samples),
    }
    held = out["held_bytes_at_peak"]
    print(f"  RSS before the stall {mib(out['rss_before_kib']):.1f} MiB; peak during it "
          f"{mib(out['rss_stall_peak_kib']):.1f} MiB ({out['peak_at_s']} s in), with "
          f"{out['held_at_peak']:,} messages received and not yet written"
          + (f" (budget: {held / 1048576:.1f} MiB held)" if held is not None else ""))
    print(f"  at the stall's end {out['held_at_stall_end']:,} held; after it: peak "
          + (f"{mib(out['rss_after_peak_kib']):.1f} MiB" if out["rss_after_peak_kib"] else "-")
          + f", drained in {out['drain_s']} s ({out['samples']} samples every {PERIOD * 1000:.0f} ms)")
    with open(args.out, "w") as f:
        json.dump({"summary": out, "samples": samples}, f)


def row(args):
    with open(args.summary) as f:
        summary = json.load(f)["summary"]
    with open(args.stats) as f:
        m = json.load(f)["messages"]
    with open(args.time) as f:
        wall, user, sys_s, maxrss = f.read().split()[-4:]
    cpu = float(user) + float(sys_s)
    ok = m["served"] == args.messages and m["deleted"] == args.messages and m["deleted_again"] == 0
    print(f"  delivered: {m['deleted']:,} of {args.messages:,} messages deleted, "
          f"{m['deleted_again']} twice; {cpu:.2f} CPU s, peak RSS {int(maxrss) / 1024:.1f} MiB",
          file=sys.stderr)
    if not ok:
        sys.exit(f"stalled_run.py: {args.row}: not every message was deleted exactly once")
    r = {"section": "memory", "tool": "pipelined", "case": args.row, "rows": args.messages,
         "wall_s": round(float(wall), 3), "cpu_s": round(cpu, 3),
         "us_per_row": round(cpu / args.messages * 1e6, 3), "rss_mib": round(int(maxrss) / 1024, 1),
         "rows_per_s": round(args.messages / float(wall)) if float(wall) > 0 else 0,
         "stall_s": int(summary["stall_s"]) if summary["stall_s"] == int(summary["stall_s"]) else summary["stall_s"],
         "rss_before_mib": round(mib(summary["rss_before_kib"]), 1),
         "rss_stall_peak_mib": round(mib(summary["rss_stall_peak_kib"]), 1),
         "held_at_peak": summary["held_at_peak"]}
    print(json.dumps(r))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--timer-pid", type=int)
    p.add_argument("--fake")
    p.add_argument("--metrics")
    p.add_argument("--stall", type=float, default=30)
    p.add_argument("--before", type=float, default=3)
    p.add_argument("--out")
    p.add_argument("--row")
    p.add_argument("--messages", type=int)
    p.add_argument("--summary")
    p.add_argument("--stats")
    p.add_argument("--time")
    args = p.parse_args()
    if args.row:
        row(args)
    elif args.timer_pid and args.fake and args.out:
        sampling(args)
    else:
        p.error("--timer-pid, --fake and --out, or --row")


if __name__ == "__main__":
    main()
