#!/usr/bin/env python3
"""The baseline of bench/run: what the original two Lambda functions of the
inventory sample did, in Python with boto3, run as one process each on the
same emulators as pipelined (bench/baseline measures them).

Usage:
  baseline.py produce FILE QUEUE_URL
      reads the whole file, csv.DictReader, json.dumps of each row,
      SendMessageBatch of 10 (the Lambda triggered by the S3 upload)
  baseline.py consume QUEUE_URL TABLE ROWS
      ReceiveMessage of 10, PutItem of each message's row (id =
      product_id#location), DeleteMessageBatch of the 10 (the Lambda fed by
      the queue), until ROWS messages are written

Prints the requests it made as one JSON object on stdout. Exits non-zero
when SQS or DynamoDB refused a message or an item. Endpoints, region and
credentials come from the standard variables (AWS_ENDPOINT_URL_SQS, ...),
as aws-env.sh sets them; clients with boto3's defaults, as in Lambda.
"""
import csv
import io
import json
import sys

import boto3


def produce(path, queue_url):
    sqs = boto3.client("sqs")
    with open(path, newline="") as f:
        text = f.read()
    requests = 0
    entries = []

    def flush():
        nonlocal requests, entries
        resp = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        requests += 1
        if resp.get("Failed"):
            sys.exit(f"SendMessageBatch failed: {resp['Failed'][:3]}")
        entries = []

    for row in csv.DictReader(io.StringIO(text)):
        entries.append({"Id": str(len(entries)), "MessageBody": json.dumps(row)})
        if len(entries) == 10:
            flush()
    if entries:
        flush()
    return {"SendMessageBatch": requests}


def consume(queue_url, table, rows):
    sqs = boto3.client("sqs")
    ddb = boto3.client("dynamodb")
    counts = {"ReceiveMessage": 0, "PutItem": 0, "DeleteMessageBatch": 0}
    idle = 0
    while counts["PutItem"] < rows:
        resp = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        counts["ReceiveMessage"] += 1
        messages = resp.get("Messages", [])
        if not messages:
            idle += 1
            if idle > 30:
                sys.exit(f"the queue ran dry after {counts['PutItem']} of {rows} rows")
            continue
        idle = 0
        for m in messages:
            row = json.loads(m["Body"])
            ddb.put_item(TableName=table, Item={
                "id": {"S": f"{row['product_id']}#{row['location']}"},
                "product_id": {"S": row["product_id"]},
                "location": {"S": row["location"]},
                "quantity": {"N": str(row["quantity"])},
                "update_date": {"S": row["update_date"]},
            })
            counts["PutItem"] += 1
        resp = sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
        counts["DeleteMessageBatch"] += 1
        if resp.get("Failed"):
            sys.exit(f"DeleteMessageBatch failed: {resp['Failed'][:3]}")
    return counts


def main():
    args = sys.argv[1:]
    if len(args) == 3 and args[0] == "produce":
        counts = produce(args[1], args[2])
    elif len(args) == 4 and args[0] == "consume":
        counts = consume(args[1], args[2], int(args[3]))
    else:
        sys.exit(__doc__)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
