#!/usr/bin/env bash
# The AWS layer against both local emulator setups: tests/integration/
# aws_smoke signs and sends real S3, SQS and DynamoDB requests; the aws CLI
# (an independent client) then checks what they did.
set -euo pipefail
: "${top_builddir:?run through make check}"
here=$(cd "$(dirname "$0")" && pwd)
smoke="$top_builddir/tests/integration/aws_smoke"

for setup in moto fauxqs; do
  (
    source "$here/aws-env.sh"
    "aws_env_$setup"
    aws_make_bucket smoke-bucket
    aws_make_table smoke-table
    SMOKE_BUCKET=smoke-bucket SMOKE_TABLE=smoke-table "$smoke"
    # Independent checks with the aws CLI.
    body=$(aws s3api get-object --bucket smoke-bucket \
      --key "smoke/a b+c ü.txt" /dev/stdout 2>/dev/null | head -c 17)
    [ "$body" = "hello range world" ] || { echo "FAIL ($setup): object body '$body'"; exit 1; }
    count=$(aws s3api list-objects-v2 --bucket smoke-bucket --prefix smoke/ \
      --query 'length(Contents)' --output text)
    [ "$count" = 6 ] || { echo "FAIL ($setup): $count keys"; exit 1; }
    queue=$(aws_queue_url smoke-queue)
    left=$(aws_queue_count "$queue")
    [ "$left" = 0 ] || { echo "FAIL ($setup): $left messages left in the queue"; exit 1; }
    quantity=$(aws dynamodb get-item --table-name smoke-table \
      --key '{"id":{"S":"P1#A"}}' --consistent-read \
      --query 'Item.quantity.N' --output text)
    [ "$quantity" = 99 ] || { echo "FAIL ($setup): quantity $quantity"; exit 1; }
    [ "$(aws_table_count smoke-table)" = 3 ] || { echo "FAIL ($setup): table count"; exit 1; }
    echo "ok: $setup: the aws CLI sees what the AWS layer did"
  )
done
