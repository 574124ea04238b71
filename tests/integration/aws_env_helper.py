#!/usr/bin/env python3
"""Resource helpers behind tests/integration/aws-env.sh (boto3 clients).

Usage: aws_env_helper.py COMMAND ARGS...

  free-port
  lock-current PREFIX                                         exit 0 when npm ci is not needed
  make-bucket NAME
  make-queue NAME [VISIBILITY] [DLQ_NAME MAX_RECEIVE_COUNT]   prints the queue URL
  queue-url NAME                                              prints the queue URL
  make-table NAME
  bucket-notify BUCKET QUEUE_URL
  publish-s3-event QUEUE_URL BUCKET KEY [SIZE ETAG]
  queue-count QUEUE_URL
  table-count TABLE

Endpoints come from AWS_ENDPOINT_URL_<SERVICE> or AWS_ENDPOINT_URL, as the
daemon reads them. This script refuses to run without an endpoint, or with
one that is not a loopback address, so a test can never reach real AWS.
Queue URLs it prints have the SQS endpoint's scheme, host and port (fauxqs
answers with hosts like sqs.us-east-1.localhost that the system resolver
does not resolve).
"""
import ipaddress
import json
import os
import socket
import sys
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import quote_plus, urlsplit, urlunsplit

LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def die(msg):
    print(f"aws-env: {msg}", file=sys.stderr)
    sys.exit(1)


def endpoint(service):
    url = os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}") or os.environ.get("AWS_ENDPOINT_URL")
    if not url:
        die(f"no endpoint for {service}: set up an emulator first (aws_env_moto or aws_env_fauxqs)")
    host = urlsplit(url).hostname or ""
    loopback = host in LOOPBACK_NAMES or host.endswith(".localhost")
    if not loopback:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
    if not loopback:
        die(f"refusing to use non-loopback endpoint {url} for {service}")
    return url


def client(service):
    import boto3
    from botocore.config import Config

    cfg = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5, read_timeout=60)
    return boto3.client(
        service,
        endpoint_url=endpoint(service),
        region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
        config=cfg,
    )


def host_queue_url(url):
    """The queue URL with the SQS endpoint's scheme and authority."""
    ep = urlsplit(endpoint("sqs"))
    parts = urlsplit(url)
    return urlunsplit((ep.scheme, ep.netloc, parts.path, parts.query, ""))


def queue_arn(sqs, url):
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return attrs["QueueArn"]


def cmd_free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def cmd_lock_current(prefix):
    """Exit 0 when PREFIX/node_modules holds exactly PREFIX/package-lock.json.

    npm records the tree it installed in node_modules/.package-lock.json;
    after npm ci its "packages" equal the lock file's (less the root entry).
    """
    try:
        with open(os.path.join(prefix, "package-lock.json")) as f:
            want = json.load(f)["packages"]
        with open(os.path.join(prefix, "node_modules", ".package-lock.json")) as f:
            have = json.load(f)["packages"]
    except (OSError, ValueError, KeyError):
        sys.exit(1)
    want.pop("", None)
    sys.exit(0 if want == have else 1)


def cmd_make_bucket(name):
    s3 = client("s3")
    region = s3.meta.region_name
    kwargs = {"Bucket": name}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**kwargs)


def create_queue(sqs, name, attributes):
    if name.endswith(".fifo"):
        attributes = dict(attributes, FifoQueue="true")
        dedup = os.environ.get("AWS_ENV_FIFO_CONTENT_DEDUP")
        if dedup:
            attributes["ContentBasedDeduplication"] = dedup
    return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]


def cmd_make_queue(name, visibility=None, dlq_name=None, max_receive=None):
    if (dlq_name is None) != (max_receive is None):
        die("aws_make_queue NAME [VISIBILITY] [DLQ_NAME MAX_RECEIVE_COUNT]: give both DLQ arguments")
    if dlq_name is not None and name.endswith(".fifo") != dlq_name.endswith(".fifo"):
        die(f"the dead-letter queue of {name} must be {'a FIFO' if name.endswith('.fifo') else 'a standard'} queue too")
    sqs = client("sqs")
    attributes = {}
    if visibility:
        attributes["VisibilityTimeout"] = str(int(visibility))
    if dlq_name is not None:
        dlq_url = create_queue(sqs, dlq_name, {})
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": queue_arn(sqs, dlq_url), "maxReceiveCount": str(int(max_receive))}
        )
    print(host_queue_url(create_queue(sqs, name, attributes)))


def cmd_queue_url(name):
    sqs = client("sqs")
    print(host_queue_url(sqs.get_queue_url(QueueName=name)["QueueUrl"]))


def cmd_make_table(name):
    ddb = client("dynamodb")
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    # Polled here: the CLI's "table-exists" waiter sleeps 20 s between tries.
    deadline = time.monotonic() + 30
    while ddb.describe_table(TableName=name)["Table"]["TableStatus"] != "ACTIVE":
        if time.monotonic() > deadline:
            die(f"table {name} did not become ACTIVE within 30 s")
        time.sleep(0.05)


def cmd_bucket_notify(bucket, queue_url):
    if os.environ.get("AWS_ENV_S3_NOTIFICATIONS", "1") != "1":
        # fauxqs accepts PutBucketNotificationConfiguration, stores nothing
        # and never delivers: tests publish events with aws_publish_s3_event.
        print(
            f"aws-env: {os.environ.get('AWS_ENV_KIND', 'this setup')} delivers no S3 notifications; "
            "publish them with aws_publish_s3_event after each upload",
            file=sys.stderr,
        )
        return
    sqs = client("sqs")
    arn = queue_arn(sqs, queue_url)
    # Real S3 needs the queue policy to allow it; emulators ignore it, but the
    # same call then works unchanged against a real account.
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{bucket}"}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    client("s3").put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {"Id": f"pipelined-{bucket}", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )


def s3_event(bucket, key, size, etag, region, event_time=None):
    """The documented S3 event notification message for one ObjectCreated:Put.

    The key is URL-encoded as S3 does (form encoding: "+" for a space, UTF-8
    %XX for the rest, "/" kept); decode with unquote_plus. moto encodes "/"
    as %2F too, which decodes the same. event_time (ISO 8601 text) replaces
    the time of now, e.g. to announce a later upload first.
    """
    now = datetime.now(timezone.utc)
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": event_time
                or now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:AIDAPIPELINEDTEST"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {
                    "x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                    "x-amz-id-2": uuid.uuid4().hex + uuid.uuid4().hex,
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": f"pipelined-{bucket}",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "A3PIPELINEDTEST"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {
                        "key": quote_plus(key, safe="/"),
                        "size": size,
                        "eTag": etag,
                        "sequencer": f"{time.time_ns():018X}",
                    },
                },
            }
        ]
    }


def cmd_publish_s3_event(queue_url, bucket, key, size=None, etag=None, event_time=None):
    if (size is None) != (etag is None):
        die("aws_publish_s3_event QUEUE_URL BUCKET KEY [SIZE ETAG [TIME]]: give both SIZE and ETAG, or neither")
    sqs = client("sqs")
    if size is None:
        head = client("s3").head_object(Bucket=bucket, Key=key)
        size, etag = head["ContentLength"], head["ETag"]
    event = s3_event(bucket, key, int(size), etag.strip('"'), sqs.meta.region_name, event_time)
    kwargs = {"QueueUrl": queue_url, "MessageBody": json.dumps(event)}
    if urlsplit(queue_url).path.endswith(".fifo"):
        kwargs["MessageGroupId"] = bucket
        kwargs["MessageDeduplicationId"] = event["Records"][0]["s3"]["object"]["sequencer"]
    sqs.send_message(**kwargs)


def cmd_queue_count(queue_url):
    attrs = client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    print(int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"]))


def cmd_table_count(table):
    ddb = client("dynamodb")
    total, kwargs = 0, {"TableName": table, "Select": "COUNT"}
    while True:
        page = ddb.scan(**kwargs)
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    print(total)


COMMANDS = {
    "free-port": (cmd_free_port, 0, 0),
    "lock-current": (cmd_lock_current, 1, 1),
    "make-bucket": (cmd_make_bucket, 1, 1),
    "make-queue": (cmd_make_queue, 1, 4),
    "queue-url": (cmd_queue_url, 1, 1),
    "make-table": (cmd_make_table, 1, 1),
    "bucket-notify": (cmd_bucket_notify, 2, 2),
    "publish-s3-event": (cmd_publish_s3_event, 3, 6),
    "queue-count": (cmd_queue_count, 1, 1),
    "table-count": (cmd_table_count, 1, 1),
}


def main(argv):
    if len(argv) < 2 or argv[1] not in COMMANDS:
        die(f"usage: aws_env_helper.py {{{','.join(COMMANDS)}}} ARGS...")
    fn, lo, hi = COMMANDS[argv[1]]
    args = argv[2:]
    if not lo <= len(args) <= hi:
        die(f"{argv[1]}: expected {lo}..{hi} arguments, got {len(args)}")
    try:
        fn(*args)
    except ImportError as e:
        die(f"{e}: boto3 is needed by the test helpers (pip install boto3)")
    except Exception as e:  # botocore errors: one clear line, not a traceback
        die(f"{argv[1]} {' '.join(args)}: {type(e).__name__}: {e}")


if __name__ == "__main__":
    main(sys.argv)
