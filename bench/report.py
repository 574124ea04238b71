#!/usr/bin/env python3
"""The last step of bench/run: merges the sections' JSON into one results
file, prints the table with the ratios, and draws the charts as SVG.

Usage: report.py OUT.json CHART_DIR META.json SECTION.json...

META.json: an object (date, commit, machine, options, notes) written as is
into OUT.json beside "rows", every row of every SECTION.json (each a JSON
array of rows in the format bench/run describes). Missing or empty section
files are skipped; a results.json of an earlier run counts as its rows. Charts (only those with data):
  CHART_DIR/bench-far-away.svg  rows/s against max_in_flight (far_away rows),
                                one line per case and concurrency
  CHART_DIR/bench-memory.svg    peak RSS against rows (memory rows), one line
                                per case, both axes logarithmic for rows
"""
import json
import math
import os
import sys


def load_rows(paths):
    rows = []
    for p in paths:
        if not os.path.exists(p) or os.path.getsize(p) == 0:
            continue
        with open(p) as f:
            data = json.load(f)
        if isinstance(data, dict) and isinstance(data.get("rows"), list):
            data = data["rows"]  # a results.json of an earlier run, to draw again
        if not isinstance(data, list):
            sys.exit(f"{p}: not a JSON array of rows")
        rows.extend(data)
    return rows


def fmt(v, digits=1):
    if v is None:
        return "-"
    if isinstance(v, (int, float)) and abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def table(rows):
    """The rows, one line each, as a Markdown table."""
    out = ["| section | tool | case | rows | wall s | CPU s | µs CPU/row | rows/s | peak RSS MiB |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        case = r["case"]
        if r.get("max_in_flight"):
            case += f", max_in_flight {r['max_in_flight']} ({r.get('concurrency', 'fixed')})"
        out.append(f"| {r['section']} | {r['tool']} | {case} | {r['rows']:,} | {fmt(r.get('wall_s'), 2)} "
                   f"| {fmt(r.get('cpu_s'), 2)} | {fmt(r.get('us_per_row'), 2)} | {fmt(r.get('rows_per_s'), 0)} "
                   f"| {fmt(r.get('rss_mib'))} |")
    return out


def comparisons(rows):
    """(what, pipelined row, other row) pairs: the parse path at each size
    against Miller and Python, the producer and the consumer against boto3,
    on the emulators and on fake_aws (section on_fake)."""
    pairs = []
    by = {}
    for r in rows:
        by.setdefault((r["section"], r["tool"]), []).append(r)
    for p in by.get(("parse", "pipelined"), []):
        for tool in ("miller", "python"):
            for o in by.get(("parse", tool), []):
                if o["rows"] == p["rows"]:
                    pairs.append((f"parse {p['case']}", p, o))
    base = by.get(("baseline", "boto3"), [])
    for p in by.get(("producer", "pipelined"), []):
        for o in base:
            if o["case"].startswith("producer"):
                pairs.append((f"producer {p['rows']:,} rows", p, o))
    for p in by.get(("consumer", "pipelined"), []):
        for o in base:
            if o["case"].startswith("consumer"):
                pairs.append((f"consumer {p['case']}", p, o))
    for p in by.get(("on_fake", "pipelined"), []):
        kind = p["case"].split(":")[0].split()[0]  # producer / consumer
        for o in by.get(("on_fake", "boto3"), []):
            if o["case"].startswith(kind):
                pairs.append((f"{p['case']}", p, o))
    return pairs


def ratio(a, b):
    return f"{b / a:.1f}×" if a and b else "-"


def ratio_table(rows):
    out = ["| comparison | other | pipelined µs CPU/row | other µs CPU/row | CPU ratio "
           "| pipelined RSS MiB | other RSS MiB | RSS ratio |",
           "|---|---|---|---|---|---|---|---|"]
    for what, p, o in comparisons(rows):
        out.append(f"| {what} | {o['tool']} ({o['case']}) | {fmt(p['us_per_row'], 2)} | {fmt(o['us_per_row'], 2)} "
                   f"| {ratio(p['us_per_row'], o['us_per_row'])} | {fmt(p['rss_mib'])} | {fmt(o['rss_mib'])} "
                   f"| {ratio(p['rss_mib'], o['rss_mib'])} |")
    return out


# What each path of section on_fake is called in section floor ("floor:
# PATH"), and the issue's target for it in µs of CPU per row.
FLOOR_PATHS = [
    ("producer: file → csv → SQS (fake_aws)", "producer", 3),
    ("consumer put (fake_aws)", "put", 5),
    ("consumer update (fake_aws)", "update", 15),
    ("consumer update, batch_updates (fake_aws)", "batched", 15),
]


def floor_table(rows):
    """pipelined on fake_aws beside the wire's floor (bench/floor): what the
    same requests cost a client that does nothing else, and the rest,
    pipelined's own work. Empty without both sections."""
    fake = {r["case"]: r for r in rows if r["section"] == "on_fake" and r["tool"] == "pipelined"}
    floor = {r["case"]: r for r in rows if r["section"] == "floor"}
    out = []
    for case, path, target in FLOOR_PATHS:
        p, f = fake.get(case), floor.get(f"floor: {path}")
        if not p or not f:
            continue
        own = p["us_per_row"] - f["us_per_row"]
        out.append(f"| {path} | {fmt(p['us_per_row'], 2)} | {fmt(f['us_per_row'], 2)} ({f.get('formula', '')}) "
                   f"| {fmt(own, 2)} | {target} | {fmt(target - f['us_per_row'], 2)} |")
    if out:
        out[:0] = ["| path | pipelined µs CPU/row (on_fake) | the wire's floor µs CPU/row | pipelined's own "
                   "| target | left for the client's own work under the target |",
                   "|---|---|---|---|---|---|"]
    return out


# ---- SVG, by hand ----

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


def esc(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def nice_ticks(lo, hi, n=5):
    if hi <= lo:
        hi = lo + 1
    step = 10 ** math.floor(math.log10((hi - lo) / n))
    for m in (1, 2, 5, 10):
        if (hi - lo) / (step * m) <= n:
            step *= m
            break
    first, last = math.floor(lo / step), math.ceil(hi / step)
    return [i * step for i in range(first, last + 1)]


def svg_chart(path, title, xlabel, ylabel, series, logx):
    """series: [(label, [(x, y), ...])]. x on a log scale when logx."""
    # The legend goes under the plot, one line per series.
    w, left, right, top, ph = 720, 80, 50, 40, 320
    bottom = 60 + 18 * len(series)
    h = top + ph + bottom
    pw = w - left - right
    xs = [x for _, pts in series for x, _ in pts]
    ys = [y for _, pts in series for _, y in pts]
    fx = (lambda v: math.log10(v)) if logx else (lambda v: v)
    xlo, xhi = fx(min(xs)), fx(max(xs))
    if xhi == xlo:
        xlo, xhi = xlo - 1, xhi + 1
    yticks = nice_ticks(0, max(ys) * 1.05)
    ylo, yhi = 0, yticks[-1]

    def px(v):
        return left + (fx(v) - xlo) / (xhi - xlo) * pw

    def py(v):
        return top + ph - (v - ylo) / (yhi - ylo) * ph

    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
         f'font-family="sans-serif" font-size="12">',
         f'<rect width="{w}" height="{h}" fill="white"/>',
         f'<text x="{left + pw / 2}" y="22" text-anchor="middle" font-size="14">{esc(title)}</text>']
    for t in yticks:
        y = py(t)
        o.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="#ddd"/>')
        o.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{fmt(t, 0 if t >= 10 else 1)}</text>')
    xticks = sorted(set(xs))
    for t in xticks:
        x = px(t)
        o.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + ph}" stroke="#eee"/>')
        o.append(f'<text x="{x:.1f}" y="{top + ph + 16}" text-anchor="middle">{fmt(t, 0)}</text>')
    o.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
    o.append(f'<text x="{left + pw / 2}" y="{top + ph + 36}" text-anchor="middle">{esc(xlabel)}</text>')
    o.append(f'<text transform="translate(18,{top + ph / 2}) rotate(-90)" text-anchor="middle">{esc(ylabel)}</text>')
    for i, (label, pts) in enumerate(series):
        c = COLORS[i % len(COLORS)]
        pts = sorted(pts)
        path_d = " ".join(f"{'M' if j == 0 else 'L'}{px(x):.1f},{py(y):.1f}" for j, (x, y) in enumerate(pts))
        o.append(f'<path d="{path_d}" fill="none" stroke="{c}" stroke-width="2"/>')
        for x, y in pts:
            o.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{c}"/>')
        ly = top + ph + 60 + i * 18
        o.append(f'<line x1="{left}" y1="{ly}" x2="{left + 20}" y2="{ly}" stroke="{c}" stroke-width="2"/>')
        o.append(f'<text x="{left + 26}" y="{ly + 4}">{esc(label)}</text>')
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")


# (file, section, series label, x, y, title, x label, y label); both with
# x on a log scale.
CHARTS = [
    ("bench-far-away.svg", "far_away", lambda r: f"{r['case']} ({r.get('concurrency', 'fixed')})",
     "max_in_flight", "rows_per_s", "Far away AWS: rows/s against max_in_flight", "max_in_flight (log scale)",
     "rows/s"),
    ("bench-memory.svg", "memory", lambda r: f"{r['tool']}: {r['case']}",
     "rows", "rss_mib", "Peak RSS against rows", "rows (log scale)", "peak RSS (MiB)"),
]


def charts(rows, chart_dir):
    drawn = []
    for name, section, key, x, y, title, xlabel, ylabel in CHARTS:
        series = {}
        for r in rows:
            if r["section"] == section and r.get(x) and r.get(y) is not None:
                series.setdefault(key(r), []).append((r[x], r[y]))
        if series:
            p = os.path.join(chart_dir, name)
            svg_chart(p, title, xlabel, ylabel, sorted(series.items()), True)
            drawn.append(p)
    return drawn


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    out, chart_dir, meta_path = sys.argv[1:4]
    with open(meta_path) as f:
        meta = json.load(f)
    rows = load_rows(sys.argv[4:])
    meta["rows"] = rows
    with open(out, "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print("\n".join(table(rows)))
    print()
    print("\n".join(ratio_table(rows)))
    floors = floor_table(rows)
    if floors:
        print()
        print("\n".join(floors))
    for note in meta.get("notes", []):
        print(f"note: {note}")
    for p in charts(rows, chart_dir):
        print(f"chart: {p}")
    print(f"results: {out}")


if __name__ == "__main__":
    main()
