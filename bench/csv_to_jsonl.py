#!/usr/bin/env python3
"""Python's csv + json beside pipelined's parse path (bench/parse).

Usage: csv_to_jsonl.py IN.csv OUT.jsonl

Each row of IN.csv (csv.DictReader, the header names the columns) becomes
one line of JSON in OUT.jsonl, with quantity as an integer as pipelined's
"quantity:int" column types it. Streams: one row at a time.
"""
import csv
import json
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], newline="") as src, open(sys.argv[2], "w") as out:
        for row in csv.DictReader(src):
            row["quantity"] = int(row["quantity"])
            out.write(json.dumps(row))
            out.write("\n")


if __name__ == "__main__":
    main()
