#!/usr/bin/env bash
# sink-s3 end to end on moto_server: the real daemon runs a file -> csv ->
# s3 pipeline, and an independent client (boto3) reads the objects back.
#   sample:  the 21 rows of the sample file become three objects (cut at 10
#            records, the last by age) under the rendered key; their lines
#            are the typed rows; a row the CSV side refuses becomes a letter
#            in the dead letter's own bucket (dead_letter "s3"), gzipped;
#   csv:     format = "csv" writes the sample file back as it was;
#   bulk:    90,000 rows cut at 6 MiB: the first object is a multipart
#            upload (ETag "...-2": parts of 5 MiB and the rest), the rest
#            one PutObject; every row is in exactly one object.
# Needs PIPELINED (make check sets it) and a PIPELINED_PLUGIN_PATH holding
# sink-s3, source-file and transform-csv.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
: "${PIPELINED:?run through make check (PIPELINED is the daemon to test)}"
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
sample=${PIPELINED_TEST_DATA:-$top_srcdir/tests/data}/sample_inventory.csv
# shellcheck source=needs.sh
source "$here/needs.sh"
needs_full_build_and "the S3 sink test" sink-s3
[ -r "$sample" ] || { echo "FAIL: $sample is missing" >&2; exit 1; }

fail() { echo "FAIL (${AWS_ENV_KIND:-setup}): $*" >&2; exit 1; }

# The pipeline: INPUT rows typed by the CSV transform into BUCKET; rows it
# refuses go to the dead letter bucket DEAD.
# write_conf FILE SINK_EXTRA [KEY]: SINK_EXTRA, more sink options; OBJECT_AGE
# (default 500ms), the sink's max_object_age.
write_conf() {
  local key=${3:-"inventory/\${@pipeline}/%Y/%m/%d/\${@seq}-\${@uuid}.jsonl"}
  cat >"$1" <<CONF
pipeline "archive" {
  source "file" {
    paths     = ["\${INPUT}"]
    on_commit = "keep"
  }
  transform "csv" {
    header  = true
    columns = ["product_id:string", "location:string", "quantity:int",
               "update_date:date"]
  }
  sink "s3" {
    bucket = "\${BUCKET}"
    key    = "$key"
    max_object_age = "${OBJECT_AGE:-500ms}"
    $2
  }
  dead_letter "s3" {
    bucket = "\${DEAD}"
    key    = "letters/\${@uuid}.jsonl.gz"
    compression = "gzip"
    max_object_age = "200ms"
  }
}
CONF
}

# s3_read BUCKET OUT: every object of BUCKET as one JSON line each: key,
# ETag, size and its lines parsed.
s3_read() {
  python3 - "$@" <<'PY'
import gzip, ipaddress, json, os, sys
from urllib.parse import urlsplit
import boto3
bucket, out = sys.argv[1], sys.argv[2]
endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ["AWS_ENDPOINT_URL"]
assert ipaddress.ip_address(urlsplit(endpoint).hostname).is_loopback, endpoint
s3 = boto3.client("s3", endpoint_url=endpoint, region_name=os.environ["AWS_REGION"])
with open(out, "w") as f:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            r = s3.get_object(Bucket=bucket, Key=o["Key"])
            body = r["Body"].read()
            if o["Key"].endswith(".gz"):
                body = gzip.decompress(body)
            body = body.decode()
            assert body.endswith("\n"), o["Key"]
            rows = (body if o["Key"].endswith(".csv") else
                    [json.loads(l) for l in body.splitlines()])
            f.write(json.dumps({"key": o["Key"], "etag": r["ETag"].strip('"'),
                                "size": o["Size"], "type": r.get("ContentType"),
                                "rows": rows}) + "\n")
PY
}

check_sample() {
  aws_make_bucket archive >/dev/null
  aws_make_bucket dead >/dev/null
  write_conf "$work/sample.conf" "max_object_records = 10"
  { cat "$sample"; echo "P9999,Warehouse Z,not-a-number,2023-05-01"; } >"$work/sample.csv"
  INPUT=$work/sample.csv BUCKET=archive DEAD=dead \
    "$PIPELINED" --once -c "$work/sample.conf" 2>"$work/sample.log" \
    || { cat "$work/sample.log" >&2; fail "pipelined --once exited non-zero"; }
  s3_read archive "$work/archive.jsonl" || fail "reading bucket archive"
  s3_read dead "$work/dead.jsonl" || fail "reading bucket dead"
  python3 - "$sample" "$work/archive.jsonl" "$work/dead.jsonl" <<'PY' || fail "the objects are not the typed rows"
import csv, json, re, sys, time
path = sys.argv[1]
objects = [json.loads(l) for l in open(sys.argv[2])]
letters = [json.loads(l) for l in open(sys.argv[3])]
want = []
with open(path, newline="") as f:
    for line, row in enumerate(csv.reader(f), start=1):
        if line == 1 or not row:
            continue
        want.append({"product_id": row[0], "location": row[1],
                     "quantity": int(row[2]), "update_date": row[3]})
assert len(want) == 21, len(want)
assert sorted(len(o["rows"]) for o in objects) == [1, 10, 10], [len(o["rows"]) for o in objects]
day = time.strftime("%Y/%m/%d", time.gmtime())
for o in objects:
    assert re.fullmatch(r"inventory/archive/\d{4}/\d\d/\d\d/[123]-[0-9a-f-]{36}\.jsonl", o["key"]), o["key"]
    assert o["type"] == "application/x-ndjson", o["type"]
seqs = sorted(o["key"].split("/")[-1].split("-")[0] for o in objects)
assert seqs == ["1", "2", "3"], seqs
got = sorted((r for o in objects for r in o["rows"]), key=lambda r: json.dumps(r))
assert got == sorted(want, key=lambda r: json.dumps(r)), got
# The objects keep the file's order: object 1 holds rows 1-10.
first = next(o for o in objects if o["key"].split("/")[-1].startswith("1-"))
assert first["rows"] == want[:10], first["rows"]
assert len(letters) == 1 and len(letters[0]["rows"]) == 1, letters
assert letters[0]["key"].startswith("letters/"), letters[0]["key"]
assert letters[0]["key"].endswith(".jsonl.gz"), letters[0]["key"]
assert letters[0]["type"] == "application/gzip", letters[0]["type"]
assert "not-a-number" in json.dumps(letters[0]["rows"][0]), letters[0]["rows"][0]
PY
  echo "ok: $AWS_ENV_KIND: 21 rows in 3 objects (10, 10, 1) under the rendered keys, 1 rejected row as a gzipped letter in its own bucket"
}

# format = "csv": the sample's rows come back as the file has them.
check_csv() {
  aws_make_bucket csv >/dev/null
  write_conf "$work/csv.conf" 'format = "csv"
    columns = ["product_id", "location", "quantity", "update_date"]' \
    "csv/\${@uuid}.csv"
  INPUT=$sample BUCKET=csv DEAD=dead \
    "$PIPELINED" --once -c "$work/csv.conf" 2>"$work/csv.log" \
    || { cat "$work/csv.log" >&2; fail "pipelined --once exited non-zero"; }
  s3_read csv "$work/csv.jsonl" || fail "reading bucket csv"
  python3 - "$sample" "$work/csv.jsonl" <<'PY' || fail "the CSV object is not the sample's rows"
import csv, io, json, sys
want = [r for r in csv.reader(open(sys.argv[1], newline="")) if r]
objects = [json.loads(l) for l in open(sys.argv[2])]
assert len(objects) == 1, [o["key"] for o in objects]
assert objects[0]["type"] == "text/csv", objects[0]["type"]
got = list(csv.reader(io.StringIO(objects[0]["rows"], newline="")))
assert got == want, (got[:3], want[:3])
PY
  echo "ok: $AWS_ENV_KIND: format csv: one object whose header and 21 rows are the sample file's"
}

check_bulk() {
  aws_make_bucket bulk >/dev/null
  python3 - "$work/bulk.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("product_id,location,quantity,update_date\n")
    for i in range(1, 90001):
        f.write(f"P{i:05d},Warehouse {'ABC'[i % 3]},{i},2023-05-{1 + i % 28:02d}\n")
PY
  # The first object cut by its size: on a loaded machine its 6 MiB took
  # over 500 ms to gather, and its age cut it into three objects, none
  # multipart. The last one is cut by the drain at the end of the input.
  OBJECT_AGE=10m write_conf "$work/bulk.conf" 'max_object_bytes = "6MiB"
    part_size = "5MiB"
    batch_size = 5000'
  INPUT=$work/bulk.csv BUCKET=bulk DEAD=dead \
    "$PIPELINED" --once -c "$work/bulk.conf" 2>"$work/bulk.log" \
    || { cat "$work/bulk.log" >&2; fail "pipelined --once exited non-zero"; }
  s3_read bulk "$work/bulk.jsonl" || fail "reading bucket bulk"
  python3 - "$work/bulk.jsonl" <<'PY' || fail "the objects are not the 90,000 rows"
import json, sys
objects = [json.loads(l) for l in open(sys.argv[1])]
q = sorted(r["quantity"] for o in objects for r in o["rows"])
assert q == list(range(1, 90001)), (len(q), q[:3])
multipart = [o for o in objects if o["etag"].endswith("-2")]
assert len(multipart) == 1, [(o["size"], o["etag"]) for o in objects]
assert 6 << 20 <= multipart[0]["size"] < (6 << 20) + 200, multipart[0]["size"]
assert len(objects) == 2, [(o["size"], o["etag"]) for o in objects]
PY
  echo "ok: $AWS_ENV_KIND: 90000 rows in 2 objects, the first a 2-part multipart upload of 6 MiB"
}

work=$(mktemp -d "${TMPDIR:-/tmp}/pipelined-s3-sink.XXXXXX")
# Set before aws-env.sh installs its own, which chains to it.
trap 'rm -rf "$work"' EXIT
# shellcheck source=aws-env.sh
source "$here/aws-env.sh"
aws_env_moto
check_sample
check_csv
check_bulk
