#!/usr/bin/env python3
"""Checks a Prometheus text exposition (format 0.0.4) strictly.

Usage: prom_check.py FILE
Every family: exactly one HELP and one TYPE line, TYPE right after HELP,
all its samples together after them, each sample named like its family
(histograms: _bucket, _sum and _count), a valid metric name, valid labels,
a float value, no series (name and labels) twice, counters ending in
_total. Prints the families and series counted; exits 1 naming the first
problem.
"""
import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"')
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def fail(lineno, line, why):
    sys.exit("line %d: %s: %r" % (lineno, why, line))


def parse_labels(text, lineno, line):
    labels = []
    pos = 0
    while pos < len(text):
        m = LABEL.match(text, pos)
        if not m:
            fail(lineno, line, "bad labels")
        labels.append(m.group(1))
        pos = m.end()
        if pos < len(text):
            if text[pos] != ",":
                fail(lineno, line, "bad labels")
            pos += 1
    if len(set(labels)) != len(labels):
        fail(lineno, line, "a label twice")


def main(path):
    declared = {}
    series = set()
    family = None
    ftype = None
    closed = set()
    lines = open(path, encoding="utf-8").read().split("\n")
    if lines[-1] != "":
        sys.exit("the last line has no newline")
    for lineno, line in enumerate(lines[:-1], 1):
        if line.startswith("# HELP "):
            name = line[7:].split(" ", 1)[0]
            if not NAME.match(name):
                fail(lineno, line, "bad family name")
            if name in declared:
                fail(lineno, line, "family declared twice")
            if family:
                closed.add(family)
            declared[name] = None
            family, ftype = name, None
        elif line.startswith("# TYPE "):
            parts = line[7:].split(" ")
            if len(parts) != 2 or parts[0] != family or ftype is not None:
                fail(lineno, line, "TYPE not right after its HELP")
            if parts[1] not in TYPES:
                fail(lineno, line, "unknown type")
            ftype = declared[family] = parts[1]
            if ftype == "counter" and not family.endswith("_total"):
                fail(lineno, line, "a counter not named *_total")
        elif line.startswith("#"):
            fail(lineno, line, "stray comment")
        elif line == "":
            fail(lineno, line, "empty line")
        else:
            if ftype is None:
                fail(lineno, line, "sample before its family's TYPE")
            head, _, value = line.rpartition(" ")
            try:
                float(value)
            except ValueError:
                fail(lineno, line, "bad value")
            name, brace, rest = head.partition("{")
            if brace:
                if not rest.endswith("}"):
                    fail(lineno, line, "bad labels")
                parse_labels(rest[:-1], lineno, line)
            if not NAME.match(name):
                fail(lineno, line, "bad metric name")
            allowed = {family}
            if ftype in ("histogram", "summary"):
                allowed |= {family + "_sum", family + "_count"}
                if ftype == "histogram":
                    allowed.add(family + "_bucket")
            if name not in allowed:
                if name in declared or any(name.startswith(f) for f in closed):
                    fail(lineno, line, "sample apart from its family")
                fail(lineno, line, "sample outside its family " + family)
            if head in series:
                fail(lineno, line, "series twice")
            series.add(head)
    print("%d families, %d series, well formed" % (len(declared), len(series)))


if __name__ == "__main__":
    main(sys.argv[1])
