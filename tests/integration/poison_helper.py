#!/usr/bin/env python3
"""Poison and healthy messages for the updates queue of etc/inventory.conf,
and the checks of what the consumer made of them (poison.sh,
faults_dead_letter.sh).

    poison_helper.py send QUEUE_URL SENT_JSON [SEED]
        the messages (POISON_HEALTHY healthy ones, default 40, with the
        POISON kinds among them: at fixed places, or at places drawn with
        SEED); prints the numbers of poison and healthy messages
    poison_helper.py wait QUEUE_URL TABLE N TIMEOUT
        until the queue is empty and the table has N items; prints seconds
    poison_helper.py held SENT_JSON QUEUE_URL TABLE
        no message left the queue without its item (the table holds only
        healthy items, and the queue every other message); prints the
        items and the messages left
    poison_helper.py check SENT_JSON TABLE REJECTS_FILE
        every poison message in the dead letter once, with its reason;
        every healthy one its item, and nothing else in the table

Endpoints: the emulators' own (aws-env.sh).
"""
import json
import os
import random
import sys
import time

from faults_helper import client, die, queue_count, scan

def row(**kw):
    r = {"product_id": "X", "location": "Warehouse P", "quantity": 1, "update_date": "2024-03-01"}
    r.update(kw)
    return r

def without(field):
    r = row()
    del r[field]
    return json.dumps(r)

BIG = 256 * 1024
def big_body(field):
    """A body of exactly 256 KiB, its field `field` padded."""
    r = row(product_id="H-big") if field == "note" else row()
    r[field] = ""
    pad = BIG - len(json.dumps(r).encode())
    r[field] = "x" * pad
    body = json.dumps(r)
    assert len(body.encode()) == BIG
    return body

# (name, body, words of which the reason must hold one, case-insensitive)
POISON = [
    ("not JSON", '{"product_id": "X", "location": ', ["json"]),
    ("an array", json.dumps([row()]), ["object"]),
    ("a string", json.dumps("P1,Warehouse A,3,2024-03-01"), ["object"]),
    ("a number", "42", ["object"]),
    ("null", "null", ["object"]),
    ("product_id missing", without("product_id"), ["product_id"]),
    ("location missing", without("location"), ["location"]),
    ("quantity missing", without("quantity"), ["quantity"]),
    ("update_date missing", without("update_date"), ["update_date"]),
    ("quantity a string", json.dumps(row(quantity="5")), ["quantity"]),
    ("quantity a fraction", json.dumps(row(quantity=1.5)), ["quantity"]),
    ("quantity an object", json.dumps(row(quantity={"n": 5})), ["quantity"]),
    ("quantity an array", json.dumps(row(quantity=[5])), ["quantity"]),
    ("quantity a bool", json.dumps(row(quantity=True)), ["quantity"]),
    ("quantity null", json.dumps(row(quantity=None)), ["quantity"]),
    ("quantity too big", '{"product_id": "X", "location": "Warehouse P", '
                         '"quantity": 123456789012345678901234567890, "update_date": "2024-03-01"}',
     ["quantity", "json", "integer", "range"]),
    ("update_date a number", json.dumps(row(update_date=20240301)), ["update_date"]),
    ("update_date not a date", json.dumps(row(update_date="2024-02-30")), ["update_date"]),
    ("update_date another format", json.dumps(row(update_date="03/01/2024")), ["update_date"]),
    ("product_id a number", json.dumps(row(product_id=17)), ["product_id"]),
    ("product_id empty", json.dumps(row(product_id="")), ["product_id"]),
    ("location an array", json.dumps(row(location=["Warehouse A"])), ["location"]),
    ("256 KiB, key too long", big_body("product_id"), ["key", "size", "2048"]),
    # Message attributes are read too: an origin time that is not a time
    # would otherwise go into the item's version as it is, above every
    # real upload time of its date, and pin the item (the healthy H-pin
    # below, a later update of the same date, must win).
    ("origin_time not a time", (json.dumps(row(product_id="H-pin", quantity=666)),
                                {"origin_time": "zzzz", "line": "3"}), ["origin time"]),
    ("origin_time another zone", (json.dumps(row(product_id="H-pin", quantity=667)),
                                  {"origin_time": "2099-03-01T10:00:00+05:00", "line": "3"}),
     ["origin time"]),
]

def healthy(i):
    r = row(product_id=f"H{i:03d}", location=f"Warehouse {'ABC'[i % 3]}", quantity=i * 3,
            update_date=f"2024-03-{1 + i % 28:02d}")
    if i % 5 == 0:
        r["comment"] = "dropped by the schema"
    return json.dumps(r)

def cmd_send(queue, out, seed=None):
    sqs = client("sqs")
    sent = {"poison": {}, "healthy": {}}
    # POISON_HEALTHY: more healthy messages (the soak versions).
    bodies = [("healthy", healthy(i), None)
              for i in range(int(os.environ.get("POISON_HEALTHY", "40")))]
    bodies.append(("healthy", big_body("note"), None))
    bodies.append(("healthy", (json.dumps(row(product_id="H-pin", quantity=7)),
                               {"origin_time": "2024-03-01T10:00:00.000Z", "line": "4"}), None))
    rng = random.Random(int(seed)) if seed is not None else None
    for n, (name, body, words) in enumerate(POISON):
        at = rng.randrange(len(bodies) + 1) if rng else 2 * n + 1
        bodies.insert(at, (name, body, words))
    for name, body, words in bodies:
        attrs = {}
        if isinstance(body, tuple):
            body, given = body
            attrs = {k: {"DataType": "Number" if k == "line" else "String", "StringValue": v}
                     for k, v in given.items()}
        mid = sqs.send_message(QueueUrl=queue, MessageBody=body,
                               MessageAttributes=attrs)["MessageId"]
        if words is None:
            sent["healthy"][mid] = json.loads(body)
        else:
            sent["poison"][mid] = {"name": name, "words": words}
    json.dump(sent, open(out, "w"))
    print(len(sent["poison"]), len(sent["healthy"]))

def cmd_check(sent_file, table, rejects):
    sent = json.load(open(sent_file))
    letters = {}
    for text in open(rejects) if os.path.exists(rejects) else []:
        doc = json.loads(text)
        letters.setdefault(doc.get("message_id"), []).append(doc)
    problems = []
    for mid, p in sent["poison"].items():
        docs = letters.pop(mid, [])
        if len(docs) != 1:
            problems.append(f"{p['name']}: {len(docs)} letters, want 1")
            continue
        reason = docs[0].get("reason", "")
        print(f"   {p['name']:28} -> {reason[:110]}")
        if not any(w.lower() in reason.lower() for w in p["words"]):
            problems.append(f"{p['name']}: the reason {reason!r} names none of {p['words']}")
    for mid, docs in letters.items():
        problems.append(f"a letter for a healthy message ({mid}): {docs[0].get('reason')}")
    items = scan(table)
    want = {f"{r['product_id']}#{r['location']}": r for r in sent["healthy"].values()}
    for k, r in want.items():
        have = items.pop(k, None)
        if (have is None or have["quantity"] != {"N": str(r["quantity"])}
                or have["update_date"] != {"S": r["update_date"]}
                or set(have) != {"id", "product_id", "location", "quantity", "update_date",
                                 "version"}):
            problems.append(f"healthy {k[:40]}: have {str(have)[:200]}")
    for k in items:
        problems.append(f"an item of no healthy message: {k[:80]}")
    if problems:
        die("\n".join(problems))

def cmd_wait(queue, table, n, timeout):
    sqs, ddb, t0 = client("sqs"), client("dynamodb"), time.monotonic()
    while time.monotonic() - t0 < float(timeout):
        left = queue_count(sqs, queue)
        if left == 0 and ddb.scan(TableName=table, Select="COUNT")["Count"] >= int(n):
            print(f"{time.monotonic() - t0:.1f}")
            return
        time.sleep(0.5)
    die(f"the queue did not drain within {timeout} s ({left} messages left)")

def cmd_held(sent_file, queue, table):
    sent = json.load(open(sent_file))
    total = len(sent["poison"]) + len(sent["healthy"])
    items, left = scan(table), queue_count(client("sqs"), queue)
    want = {f"{r['product_id']}#{r['location']}" for r in sent["healthy"].values()}
    strays = [k for k in items if k not in want]
    if strays:
        die(f"{len(strays)} item(s) of no healthy message, e.g. {strays[0][:80]}")
    # Each healthy message is its own item: nothing else may be gone.
    if left + len(items) != total:
        die(f"{left} messages in the queue and {len(items)} items: "
            f"{total - left - len(items)} message(s) deleted but not written")
    print(len(items), left)

if __name__ == "__main__":
    {"send": cmd_send, "check": cmd_check, "wait": cmd_wait,
     "held": cmd_held}[sys.argv[1]](*sys.argv[2:])
