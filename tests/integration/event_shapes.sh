#!/usr/bin/env bash
# The three shapes of S3 "object created" message source-s3 reads from its
# notifications queue, end to end on moto (s3 -> csv -> file), one object
# each, in one daemon run:
#   1. the S3 event notification moto itself sends when an object is put
#      (plain/a.csv, a notification configured on the bucket);
#   2. the same event wrapped by SNS ({"Type": "Notification", "Message":
#      "<the event as a JSON string>"}), key URL-encoded as S3 sends it
#      (sns/b file.csv, encoded "sns/b+file.csv");
#   3. an EventBridge "Object Created" event (detail.bucket.name,
#      detail.object.key, not URL-encoded), of a gzip object
#      (eventbridge/c file.csv.gz, read through the decompressor).
# The objects of shapes 2 and 3 are put before the bucket's notification is
# configured, so that moto announces only the first; the test sends the
# other two messages itself. Every row of the three objects must be written
# exactly once, and the notifications queue must end empty (each message
# deleted once its object's rows are written).
#
# Needs $PIPELINED (make check sets it) and gzip; skipped (77) outside the
# gcc build of scripts/test or without source-s3. KEEP_WORK=1 keeps the
# config, output and daemon log.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${PIPELINED:=${top_builddir:?run through make check, or set PIPELINED}/pipelined}"
. "$here/needs.sh"
needs_full_build_and "the S3 event shapes test" source-s3

work=$(mktemp -d "${TMPDIR:-/tmp}/event-shapes.XXXXXX")
daemon=
trap '[ -z "$daemon" ] || kill -KILL "$daemon" 2>/dev/null; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; [ ! -f "$work/log" ] || tail -n 20 "$work/log" >&2; exit 1; }

# Three objects of distinct rows: 100 each, product ids A*, B*, C*.
for shape in A B C; do
  { echo "product_id,location,quantity,update_date"
    for i in $(seq 1 100); do printf "%s%d,Warehouse %s,%d,2026-01-%02d\n" "$shape" "$i" "$shape" "$i" $(( i % 28 + 1 )); done
  } > "$work/$shape.csv"
done
gzip -c "$work/C.csv" > "$work/C.csv.gz"

source "$here/aws-env.sh"
aws_env_moto
bucket=shapes
aws_make_bucket "$bucket"
events=$(aws_make_queue shape-events)
aws s3api put-object --bucket "$bucket" --key "sns/b file.csv" --body "$work/B.csv" >/dev/null
aws s3api put-object --bucket "$bucket" --key "eventbridge/c file.csv.gz" --body "$work/C.csv.gz" >/dev/null
aws_bucket_notify "$bucket" "$events"

cat > "$work/shapes.conf" <<CONF
pipeline "shapes" {
  source "s3" { bucket = "$bucket"; notifications = "$events"; wait_time = "2s" }
  transform "csv" {
    columns = ["product_id:string:required", "location:string",
               "quantity:int", "update_date:date"]
  }
  sink "file" { path = "$work/out.jsonl" }
  dead_letter "file" { path = "$work/bad.jsonl" }
}
CONF
"$PIPELINED" -c "$work/shapes.conf" 2> "$work/log" &
daemon=$!

aws s3api put-object --bucket "$bucket" --key "plain/a.csv" --body "$work/A.csv" >/dev/null
"${AWS_ENV_PYTHON:-python3}" - "$events" "$bucket" "$work" <<'PY'
import json, os, sys, uuid
from urllib.parse import quote_plus
import boto3
queue, bucket, work = sys.argv[1:]
def client(service):
    return boto3.client(service, endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                        region_name=os.environ["AWS_REGION"])
s3, sqs = client("s3"), client("sqs")
def head(key):
    h = s3.head_object(Bucket=bucket, Key=key)
    return h["ContentLength"], h["ETag"].strip('"')
size, etag = head("sns/b file.csv")
event = {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3",
                      "eventName": "ObjectCreated:Put",
                      "eventTime": "2026-01-05T10:00:00.000Z",
                      "s3": {"bucket": {"name": bucket},
                             "object": {"key": quote_plus("sns/b file.csv"),
                                        "size": size, "eTag": etag}}}]}
sns = {"Type": "Notification", "MessageId": str(uuid.uuid4()),
       "TopicArn": "arn:aws:sns:us-east-1:123456789012:uploads",
       "Subject": "Amazon S3 Notification", "Message": json.dumps(event),
       "Timestamp": "2026-01-05T10:00:00.100Z"}
size, etag = head("eventbridge/c file.csv.gz")
eventbridge = {"version": "0", "id": str(uuid.uuid4()),
               "detail-type": "Object Created", "source": "aws.s3",
               "account": "123456789012", "time": "2026-01-05T10:00:01Z",
               "region": "us-east-1", "resources": ["arn:aws:s3:::" + bucket],
               "detail": {"version": "0", "bucket": {"name": bucket},
                          "object": {"key": "eventbridge/c file.csv.gz",
                                     "size": size, "etag": etag,
                                     "sequencer": "0062E99A88DC407460"},
                          "request-id": "57H08PA84AB1JZW0",
                          "requester": "123456789012", "reason": "PutObject"}}
for name, body in (("sns", sns), ("eventbridge", eventbridge)):
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(body))
    with open(os.path.join(work, name + ".json"), "w") as f:
        json.dump(body, f, indent=1)
PY

# Wait for the 300 rows and for the queue to be empty.
for _ in $(seq 1 300); do
  rows=$(cat "$work/out.jsonl" 2>/dev/null | wc -l)
  if [ "$rows" -ge 300 ] && [ "$(aws_queue_count "$events")" = 0 ]; then break; fi
  kill -0 "$daemon" 2>/dev/null || fail "pipelined exited"
  sleep 0.2
done
sleep 0.5 # anything written twice would come now
kill -TERM "$daemon"
wait "$daemon" || { daemon=; fail "pipelined exited non-zero after SIGTERM"; }
daemon=
[ ! -s "$work/bad.jsonl" ] || { cat "$work/bad.jsonl" >&2; fail "rows or messages were rejected"; }
[ "$(aws_queue_count "$events")" = 0 ] || fail "the notifications queue is not empty"

"${AWS_ENV_PYTHON:-python3}" - "$work/out.jsonl" <<'PY'
import collections, json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ids = collections.Counter(r["product_id"] for r in rows)
twice = [k for k, n in ids.items() if n > 1]
assert not twice, "written twice: %s" % twice[:5]
for shape, what in (("A", "plain S3 notification (moto)"),
                    ("B", "SNS-wrapped notification, URL-encoded key"),
                    ("C", "EventBridge Object Created, gzip object")):
    got = sorted(k for k in ids if k.startswith(shape))
    assert len(got) == 100, "%s: %d rows of 100" % (what, len(got))
    print("ok: %s: 100 rows, each once" % what)
assert len(rows) == 300, len(rows)
PY
echo "ok: the three shapes of message, one daemon: 300 rows, none twice, the queue empty"
