#!/usr/bin/env python3
"""The data and the checks of the fault tests (faults_errors.sh,
faults_down.sh, faults_stall.sh): what a fault-free run of etc/inventory.conf leaves, computed
from the input, compared with what the run under faults left.

    faults_helper.py gen DIR FILES ROWS     DIR/f<i>.csv and DIR/bad.json; prints the bad rows
    faults_helper.py upload DIR BUCKET FILES    prints KEY SIZE ETAG TIME of each
    faults_helper.py expect DIR BUCKET TIME...   DIR/expected.json
    faults_helper.py expect-history DIR BUCKET   DIR/expected-history.json
    faults_helper.py wait TABLE TIMEOUT QUEUE_URL...
    faults_helper.py verify TABLE DIR/expected.json
    faults_helper.py started TABLE TIMEOUT EVENTS_URL UPDATES_URL
    faults_helper.py rejects DIR/bad.json REJECTS_FILE
    faults_helper.py split QUEUE_URL      prints its visible and in-flight counts
    faults_helper.py kill-at PROXY_URL PID_FILE N TIMEOUT OPERATION...

Endpoints: the emulators' own (aws-env.sh), never the proxy's (but
kill-at, which reads the proxy's counters).
"""
import csv
import json
import os
import sys
import time


def die(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def client(service):
    ep = os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}") or os.environ["AWS_ENDPOINT_URL"]
    # Imported here: kill-at, which needs no client, starts at once.
    import boto3
    from botocore.config import Config
    return boto3.client(service, endpoint_url=ep, region_name=os.environ["AWS_REGION"],
                        config=Config(retries={"max_attempts": 5, "mode": "standard"}))


# Each bad row: (what is wrong, the column the reason must name, the row).
BAD = [
    ("quantity not a number", "quantity", "B{f}1,Warehouse A,lots,2024-03-02"),
    ("quantity a decimal", "quantity", "B{f}2,Warehouse A,1.5,2024-03-02"),
    ("location empty", "location", "B{f}3,,7,2024-03-02"),
    ("update_date not a date", "update_date", "B{f}4,Warehouse A,7,2024-02-30"),
    ("update_date another format", "update_date", "B{f}5,Warehouse A,7,03/02/2024"),
]


def cmd_gen(out, files, rows):
    """FILES files of ROWS rows each over 400 keys and 4 dates, so that one
    key has rows in every file, many on the same date (the upload time
    decides) and some twice in one file on one date (the line decides).
    Each file holds the BAD rows at fixed lines too."""
    files, rows = int(files), int(rows)
    dates = ["2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04"]
    bad = []
    for f in range(files):
        name = f"f{f}.csv"
        with open(os.path.join(out, name), "w") as fh:
            fh.write("product_id,location,quantity,update_date\n")
            line = 1
            for i in range(rows):
                n = (i * 7 + f * 13) % 400
                line += 1
                fh.write(f"P{n // 4:03d},Warehouse {'ABCD'[n % 4]},{(i * 31 + f * 17) % 1000},"
                         f"{dates[(i * 5 + f * 3) % 4]}\n")
                if i % (rows // len(BAD)) == 7 and i // (rows // len(BAD)) < len(BAD):
                    what, column, row = BAD[i // (rows // len(BAD))]
                    line += 1
                    fh.write(row.format(f=f) + "\n")
                    bad.append({"key": f"incoming/{name}", "line": line, "what": what,
                                "column": column})
    json.dump(bad, open(os.path.join(out, "bad.json"), "w"), indent=1)
    print(len(bad))


def good_rows(out, f):
    """(line, row, quantity) of every good row of DIR/f<f>.csv."""
    with open(os.path.join(out, f"f{f}.csv"), newline="") as fh:
        for line, r in enumerate(csv.DictReader(fh), start=2):
            try:
                q = int(r["quantity"])
                time.strptime(r["update_date"], "%Y-%m-%d")
            except ValueError:
                continue
            if r["location"]:
                yield line, r, q


def cmd_upload(out, bucket, files):
    """Uploads DIR/f<i>.csv as incoming/f<i>.csv; prints "KEY SIZE ETAG
    TIME" for each, TIME the upload time its S3 event will say: distinct,
    a quarter of a second apart."""
    s3 = client("s3")
    for f in range(int(files)):
        key = f"incoming/f{f}.csv"
        with open(os.path.join(out, f"f{f}.csv"), "rb") as fh:
            s3.put_object(Bucket=bucket, Key=key, Body=fh.read())  # one part: a plain ETag
        head = s3.head_object(Bucket=bucket, Key=key)
        t = f"2024-03-05T09:00:{f // 4:02d}.{f % 4 * 250:03d}Z"
        print(key, head["ContentLength"], head["ETag"], t)


def cmd_expect(out, bucket, *times):
    """The table a fault-free run leaves: per product#location the row
    with the highest (update_date, upload time, line), its version
    (ddb_version.c: fixed-width update_date, upload time and line)."""
    best = {}
    for f, t in enumerate(times):
        for line, r, q in good_rows(out, f):
            k = f"{r['product_id']}#{r['location']}"
            # 2024-03-01T09:00:01.250Z -> 2024-03-01T09:00:01.250000Z
            up = t[:-1] + "0" * (27 - len(t)) + "Z"
            version = f"{r['update_date']}T00:00:00.000000Z {up} {line:020d}"
            if k not in best or version > best[k]["version"]["S"]:
                best[k] = {"id": {"S": k}, "product_id": {"S": r["product_id"]},
                           "location": {"S": r["location"]}, "quantity": {"N": str(q)},
                           "update_date": {"S": r["update_date"]}, "version": {"S": version}}
    json.dump(best, open(os.path.join(out, "expected.json"), "w"), indent=1, sort_keys=True)
    print(len(best))


def cmd_expect_history(out, bucket):
    """The history table a fault-free run of etc/inventory-history.conf
    leaves: one item per good row, its id "<origin>#<etag>#<line>" (the
    etags of DIR/etags, one per file, as head-object printed them)."""
    etags = [e.strip().strip('"') for e in open(os.path.join(out, "etags"))]
    items = {}
    for f, etag in enumerate(etags):
        for line, r, q in good_rows(out, f):
            k = f"s3://{bucket}/incoming/f{f}.csv#{etag}#{line}"
            items[k] = {"id": {"S": k}, "product_id": {"S": r["product_id"]},
                        "location": {"S": r["location"]}, "quantity": {"N": str(q)},
                        "update_date": {"S": r["update_date"]}}
    json.dump(items, open(os.path.join(out, "expected-history.json"), "w"), indent=1,
              sort_keys=True)
    print(len(items))


def scan(table):
    ddb, items, kw = client("dynamodb"), {}, {"TableName": table, "ConsistentRead": True}
    while True:
        page = ddb.scan(**kw)
        for i in page["Items"]:
            items[i["id"]["S"]] = i
        if "LastEvaluatedKey" not in page:
            return items
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def queue_split(sqs, url):
    """(visible, in flight) of a queue."""
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])


def queue_count(sqs, url):
    return sum(queue_split(sqs, url))


def cmd_split(url):
    print(*queue_split(client("sqs"), url))


def cmd_wait(table, expected, timeout, *queues):
    """Until the table is the expected one and every queue is empty (or
    TIMEOUT seconds); prints the seconds it took, or fails with what
    differs."""
    want, timeout = json.load(open(expected)), float(timeout)
    sqs, start, last = client("sqs"), time.monotonic(), 0
    while True:
        qs = [queue_count(sqs, q) for q in queues]
        t = time.monotonic() - start
        if not any(qs):
            have = scan(table)
            if have == want:
                print(f"{t:.0f}")
                return
        if t - last >= 15:
            last = t
            print(f"   ... {t:.0f} s: messages in the queues {qs}", file=sys.stderr)
        if t > timeout:
            have = scan(table)
            diff = [k for k in sorted(set(want) | set(have)) if want.get(k) != have.get(k)]
            die(f"not done within {timeout:.0f} s: messages in the queues {qs}; {len(diff)} of "
                f"{len(want)} items missing or different, e.g. "
                f"{[(have.get(k), want.get(k)) for k in diff[:2]]}")
        time.sleep(1)


def cmd_started(table, timeout, events, updates):
    """Until TABLE holds an item (the consumer writes) while the events
    queue still holds a message (a file is being read); prints the table's
    items and the messages of both queues then."""
    ddb, sqs, start = client("dynamodb"), client("sqs"), time.monotonic()
    while time.monotonic() - start < float(timeout):
        n = ddb.scan(TableName=table, Select="COUNT")["Count"]
        if n:
            print(n, queue_count(sqs, events), queue_count(sqs, updates))
            return
        time.sleep(0.2)
    die(f"nothing was written within {timeout} s")


def cmd_kill_at(proxy_url, pid_file, n, timeout, *ops):
    """Once the proxy (its /__proxy/stats, read every 20 ms) has seen N
    requests of the operations OPS ("sqs SendMessageBatch", ...) in all,
    SIGKILL to the process whose PID is in PID_FILE; prints the count of
    each then. PID_FILE.ready is made after the first read, so that the
    caller starts its process only then."""
    import signal
    from urllib.request import urlopen
    start = time.monotonic()
    while True:
        seen = json.load(urlopen(f"{proxy_url}/__proxy/stats", timeout=10))["operations"]
        if not os.path.exists(pid_file + ".ready"):
            open(pid_file + ".ready", "w").close()
        counts = [seen.get(op, 0) for op in ops]
        if sum(counts) >= int(n) and os.path.exists(pid_file):
            os.kill(int(open(pid_file).read()), signal.SIGKILL)
            print(*counts)
            return
        if time.monotonic() - start > float(timeout):
            die(f"the proxy saw {sum(counts)} of {n} requests {ops} within {timeout} s")
        time.sleep(0.02)


def cmd_rejects(bad_file, rejects):
    """Every bad row is in the dead letter (once or more: a file read
    again rejects its rows again) with a reason naming its column, and
    nothing else is."""
    bad = {(b["key"], b["line"]): b for b in json.load(open(bad_file))}
    seen = {}
    with open(rejects) as fh:
        for n, text in enumerate(fh, 1):
            doc = json.loads(text)
            origin = doc.get("origin", "")
            key = (origin.split("/", 3)[3] if origin.startswith("s3://") else origin,
                   doc.get("line"))
            if key not in bad:
                die(f"dead letter line {n}: not a bad row: {text.strip()}")
            if bad[key]["column"] not in doc.get("reason", ""):
                die(f"dead letter line {n}: the reason does not name {bad[key]['column']}: "
                    f"{text.strip()}")
            seen[key] = seen.get(key, 0) + 1
    missing = [b for k, b in bad.items() if k not in seen]
    if missing:
        die(f"{len(missing)} bad rows are not in the dead letter, e.g. {missing[:3]}")
    print(f"{len(bad)} {sum(seen.values())}")


if __name__ == "__main__":  # poison_helper.py imports the AWS parts
    {"gen": cmd_gen, "upload": cmd_upload, "expect": cmd_expect, "expect-history": cmd_expect_history, "wait": cmd_wait, "started": cmd_started,
     "rejects": cmd_rejects, "kill-at": cmd_kill_at, "split": cmd_split}[sys.argv[1]](*sys.argv[2:])
