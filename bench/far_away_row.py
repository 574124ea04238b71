#!/usr/bin/env python3
"""The figures of bench/far-away from bench/tools/fake_aws's counts.

    far_away_row.py row KIND ROWS MIF CONCURRENCY LATENCY STATS TIME
        one run's JSON row (bench JSON format, section "far_away") on
        stdout; exits 1 when the work was wrong (rows not sent, messages
        not deleted, items not written)
    far_away_row.py throttled ROWS CONCURRENCY LATENCY STATS TIME T_ON T_OFF ROWS_FILE
        prints the requests of each second before, during and after the
        throttled window [T_ON, T_OFF) (ms of the fake's clock) and appends
        the run's row to ROWS_FILE
    far_away_row.py emurow KIND ROWS MIF LATENCY OPS_BEFORE OPS_AFTER TIME
        one run on the emulators through aws_proxy.py: OPS_* are the
        proxy's stats before and after, TIME /usr/bin/time -f '%e %U %S %M'
    far_away_row.py table LATENCY SMOKE ROWS_FILE    the table of the rows
        (SMOKE 1: small sizes, no targets beside them)
    far_away_row.py json ROWS_FILE             the rows as one JSON array

STATS is the fake's JSON (what it prints when it stops), TIME the output of
/usr/bin/time -f '%U %S %M' for the daemon.
"""
import json
import sys

# The targets at max_in_flight 64 with 20 ms added (rows/s).
TARGETS = {"producer": 25000, "put": 15000, "update": 0.9 * 64 / 0.020}
# What each kind's rows go through, and the requests that count per row.
WORK = {
    "producer": (["SendMessageBatch"], ["SendMessageBatch"]),
    "put": (["ReceiveMessage"], ["BatchWriteItem", "DeleteMessageBatch"]),
    "update": (["ReceiveMessage"],
               ["UpdateItem", "BatchExecuteStatement", "DeleteMessageBatch"]),
    "batched": (["ReceiveMessage"],
                ["BatchExecuteStatement", "DeleteMessageBatch"]),
}
COUNTED = ["SendMessageBatch", "ReceiveMessage", "DeleteMessageBatch",
           "ChangeMessageVisibilityBatch", "BatchWriteItem", "UpdateItem",
           "BatchExecuteStatement"]


def fail(why):
    print("far-away: " + why, file=sys.stderr)
    sys.exit(1)


def load(stats_path, time_path):
    with open(stats_path) as f:
        stats = json.load(f)
    with open(time_path) as f:
        fields = f.read().split()
    user, system, rss_kib = float(fields[-3]), float(fields[-2]), float(fields[-1])
    return stats, user + system, rss_kib / 1024


def check(kind, rows, stats):
    entries = stats.get("entries", {})
    if kind == "producer":
        sent = entries.get("SendMessageBatch", 0)
        if sent < rows:
            fail(f"{sent} messages sent, expected {rows}")
        return
    msgs = stats["messages"]
    if msgs["deleted"] != rows:
        fail(f"{msgs['deleted']} of {rows} messages deleted")
    written = sum(entries.get(op, 0) for op in WORK[kind][1][:-1])
    if written < rows:
        fail(f"{written} items written, expected {rows}")


def make_row(kind, rows, mif, conc, latency, stats, cpu, rss, case=None):
    first_ops, last_ops = WORK[kind]
    first = min(stats["first_ms"][op] for op in first_ops if op in stats["first_ms"])
    last = max(stats["last_ms"][op] for op in last_ops if op in stats["last_ms"])
    wall = max((last - first + latency) / 1000.0, 1e-3)
    requests = {op: stats["requests"][op] for op in COUNTED if op in stats["requests"]}
    if stats.get("throttled_total"):
        requests["throttled"] = stats["throttled_total"]
    return {
        "section": "far_away", "tool": "pipelined",
        "case": case or f"{kind} fake+{latency}ms",
        "rows": rows, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
        "us_per_row": round(cpu / rows * 1e6, 2), "rss_mib": round(rss, 1),
        "rows_per_s": round(rows / wall), "requests": requests,
        "max_in_flight": mif, "concurrency": conc,
    }


def emu_row(args):
    kind, rows, mif, latency = args[0], int(args[1]), int(args[2]), int(args[3])
    with open(args[4]) as f:
        before = json.load(f)["operations"]
    with open(args[5]) as f:
        after = json.load(f)["operations"]
    with open(args[6]) as f:
        wall, user, system, rss_kib = (float(x) for x in f.read().split()[-4:])
    requests = {}
    for key, n in after.items():
        op = key.split(" ", 1)[-1]
        if op in COUNTED and n - before.get(key, 0) > 0:
            requests[op] = n - before.get(key, 0)
    cpu = user + system
    print(f"  {kind} max_in_flight {mif} (emulators): {rows} rows, "
          f"{rows / max(wall, 1e-3):.0f} rows/s, {cpu:.2f} CPU s", file=sys.stderr)
    return {
        "section": "far_away", "tool": "pipelined",
        "case": f"{kind} emulators+{latency}ms",
        "rows": rows, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
        "us_per_row": round(cpu / rows * 1e6, 2), "rss_mib": round(rss_kib / 1024, 1),
        "rows_per_s": round(rows / max(wall, 1e-3)), "requests": requests,
        "max_in_flight": mif, "concurrency": "fixed",
    }


def kind_of(row):
    return row["case"].split()[0]


def requests_per_row(row):
    kind = kind_of(row)
    ops = WORK.get(kind, WORK["producer"])[1] + (["ReceiveMessage"] if kind != "producer" else [])
    return sum(row["requests"].get(op, 0) for op in ops) / row["rows"]


def table(latency, smoke, rows):
    head = ("%-9s %-8s %4s %8s %8s %9s %7s %8s %7s %7s  %s" %
            ("path", "conc", "mif", "rows", "wall_s", "rows/s", "cpu_s",
             "us/row", "rss_MiB", "req/row", "target (at 64)"))
    print(head)
    for r in rows:
        kind = kind_of(r)
        target = ""
        if r["max_in_flight"] == 64 and kind in TARGETS and latency == 20 and not smoke:
            t = TARGETS[kind]
            target = ">= %d rows/s: %s" % (t, "met" if r["rows_per_s"] >= t else "missed")
        print("%-9s %-8s %4d %8d %8.2f %9d %7.2f %8.2f %7.1f %7.3f  %s" %
              (kind, r["concurrency"], r["max_in_flight"], r["rows"], r["wall_s"],
               r["rows_per_s"], r["cpu_s"], r["us_per_row"], r["rss_mib"],
               requests_per_row(r), target))


def throttled(args):
    rows, conc, latency = int(args[0]), args[1], int(args[2])
    stats, cpu, rss = load(args[3], args[4])
    t_on, t_off = int(args[5]), int(args[6])
    check("producer", rows, stats)
    row = make_row("producer", rows, 64, conc, latency, stats, cpu, rss,
                   case=f"producer throttled 50% fake+{latency}ms")
    with open(args[7], "a") as f:
        f.write(json.dumps(row) + "\n")
    print(f"\nthrottling, producer at max_in_flight 64, concurrency {conc}: half the "
          f"requests throttled from {t_on / 1000:.1f} s to {t_off / 1000:.1f} s")
    print("%6s %-7s %10s %10s %10s" % ("second", "phase", "requests", "throttled",
                                       "in_flight"))
    per = stats["per_second"]
    thr = stats["throttled_per_second"]
    peak = stats["in_flight_per_second"]
    first = stats["first_ms"]["SendMessageBatch"] // 1000
    last = stats["last_ms"]["SendMessageBatch"] // 1000
    for s in range(first, min(last + 1, len(per))):
        ms = s * 1000
        phase = "before" if ms + 1000 <= t_on else "after" if ms >= t_off else "during"
        print("%6d %-7s %10d %10d %10d" % (s, phase, per[s], thr[s], peak[s]))
    print("%d rows in %.2f s, %d requests throttled, %.2f CPU s" %
          (rows, row["wall_s"], stats.get("throttled_total", 0), cpu))


def main(argv):
    mode = argv[1]
    if mode == "row":
        kind, rows, mif, conc, latency = argv[2], int(argv[3]), int(argv[4]), argv[5], int(argv[6])
        stats, cpu, rss = load(argv[7], argv[8])
        check(kind, rows, stats)
        row = make_row(kind, rows, mif, conc, latency, stats, cpu, rss)
        print(f"  {kind} {conc} max_in_flight {mif}: {rows} rows, "
              f"{row['rows_per_s']} rows/s, {cpu:.2f} CPU s", file=sys.stderr)
        print(json.dumps(row))
    elif mode == "emurow":
        print(json.dumps(emu_row(argv[2:])))
    elif mode == "throttled":
        throttled(argv[2:])
    elif mode == "table":
        with open(argv[4]) as f:
            rows = [json.loads(line) for line in f if line.strip()]
        table(int(argv[2]), argv[3] == "1", [r for r in rows if "throttled" not in r["case"]])
    elif mode == "json":
        with open(argv[2]) as f:
            rows = [json.loads(line) for line in f if line.strip()]
        json.dump(rows, sys.stdout, indent=1)
        print()
    else:
        fail("unknown mode " + mode)


if __name__ == "__main__":
    main(sys.argv)
