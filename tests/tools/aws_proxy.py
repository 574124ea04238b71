#!/usr/bin/env python3
"""A loopback HTTP proxy between pipelined and an AWS emulator, for tests.

    aws_proxy.py --upstream http://127.0.0.1:PORT --port-file FILE [--mode MODE]
                 [--upstream-s3 URL] [--upstream-sqs URL] [--upstream-dynamodb URL]

It listens on 127.0.0.1 (an ephemeral port, written to --port-file once it
listens), forwards every request to the upstream of its service (S3, SQS or
DynamoDB, told apart by X-Amz-Target and the signature's credential scope;
--upstream for any other) unchanged (the Host header too: the emulators do
not check signatures) and returns the answer, with a mode's changes. Point
one stage at it with its `endpoint` option, or a whole daemon at it with
AWS_ENDPOINT_URL (and every AWS_ENDPOINT_URL_<SERVICE>). GET /__proxy/stats
answers the mode's counters as JSON, for the test to check that the mode
did something.

The endpoint can go down in any mode: --down AT:FOR (AT seconds after the
first request the proxy forwards, or AT = SERVICE@N: at the N-th request of
SERVICE, which is not forwarded), or GET /__proxy/down?seconds=N (from
now). While down the proxy does not listen (connections are refused) and
the connections it had are reset; then it listens on the same port again.
The stats count the windows and the connections reset ("down", with the
counts of "operations" when it went down), and the requests of each
"service operation" ("operations").

One service can stall in any mode: --stall SERVICE@N:FOR (at the N-th
request of SERVICE) holds every request of that service that arrives in
the next FOR seconds, the N-th included, without forwarding or answering
it, until the window ends; then they are forwarded as usual (a client
whose timeout ran out meanwhile has gone, and its request is dropped).
The other services go on. The stats ("stall") count the requests held and
the "operations" when the stall began and when it ended.

Every request can be made far away in any mode: --latency MS holds each
one MS milliseconds before it is forwarded (a timer, so any number wait at
once), as a service across a continent would (bench/far-away --emulators).

GetObject answers can be cut in any mode: --cut-gets N answers the next
N GetObject requests (200 or 206 with a body) with their head and a
seeded part of their body (5% to 95% of it, at any byte: in the middle of
a row), then resets the connection, as a connection dropped in the middle
of a download would. The stats ("cut") count the answers cut and the
GetObject requests that asked for a Range (a reader resuming where the
cut left it), and stderr logs each cut ("GetObject cut at byte X of Y").

In every mode the stats count the entries of SendMessageBatch ("entries":
"asked", in the requests the daemon sent, and "queued", those the
emulator answered as sent, whether or not the daemon got that answer),
so that a test can tell how many messages went into a queue.

Modes (one class each, with two hooks: answer a request itself, or change
an answer; a new fault is a new class):
  pass     forwards as it is, but that --max-wait caps the long polls of
           every mode (a daemon waits for its poll to end when it stops);
  reorder  SQS ReceiveMessage answers (AWS JSON protocol) come back in
           reverse order, and some of their messages (--hold, a fraction,
           chosen by a seeded random generator) are held back and given in
           a later answer for the same queue, never beyond the request's
           MaxNumberOfMessages. Held messages are given first to the next
           request for their queue once they are --hold-for seconds old,
           without asking the emulator, so that a long poll does not keep
           them. All of which a standard queue is allowed to do.
  faults   a fraction (--fault-rate, or --service-rate SERVICE=RATE for
           one service) of the requests, chosen by a seeded random
           generator of their service's own, fail in one of the ways of
           --faults, picked at random too:
             500       an internal error (InternalError XML for S3,
                       InternalFailure JSON for SQS and DynamoDB);
             503       SlowDown XML for S3, ServiceUnavailable JSON;
             throttle  the service's throttling error: 400
                       AWS.SimpleQueueService.RequestThrottled (the
                       x-amzn-query-error header and __type) for SQS, 400
                       ThrottlingException or
                       ProvisionedThroughputExceededException for DynamoDB,
                       503 SlowDown for S3 (what S3 throttles with);
             reset     the connection is reset (RST) instead of answered;
             partial   (SQS batch requests; the others get another kind)
                       about half the entries fail (InternalError, not the
                       sender's fault) in an answer of 200: before, they
                       are not sent upstream; after, they were carried
                       out all the same.
           A fraction of them (--after) happens after the request was
           carried out upstream: the emulator's answer (a SendMessageBatch
           that did send, an UpdateItem that did write) is replaced by the
           error, or the connection reset; a reset after a GetObject
           answers the head and half the body first (a download cut
           short). The stats count each fault by kind, before or after,
           and service ("injected"), and the last few are logged to
           stderr with --verbose.

Test tooling, not part of the daemon: it binds 127.0.0.1 only, talks only
to a loopback upstream, and exits when its parent does.
"""
import argparse
import asyncio
import fcntl
import json
import os
import random
import re
import socket
import struct
import sys
import termios
import time
from urllib.parse import urlsplit

MAX_HEADER_BYTES = 64 * 1024


class Request:
    def __init__(self, method, target, version, headers, body):
        self.method, self.target, self.version = method, target, version
        self.headers, self.body = headers, body  # headers: [(name, value)]

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


class Response:
    def __init__(self, status, reason, headers, body):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body

    @staticmethod
    def json(status, value):
        body = json.dumps(value).encode()
        return Response(status, "OK" if status == 200 else "Error",
                        [("Content-Type", "application/x-amz-json-1.0")], body)


# ---- Modes ----

class PassMode:
    """Forwards everything as it is (but --max-wait)."""

    def __init__(self, args):
        self.stats = {"requests": 0}
        self.max_wait = args.max_wait

    @staticmethod
    def receive_of(req):
        """(queue URL, MaxNumberOfMessages) of a ReceiveMessage, or None."""
        target = req.header("X-Amz-Target") or ""
        if not target.endswith(".ReceiveMessage"):
            return None
        try:
            body = json.loads(req.body or b"{}")
        except ValueError:
            return None
        return body.get("QueueUrl", ""), int(body.get("MaxNumberOfMessages", 1))

    @staticmethod
    def cap_wait(req, seconds):
        body = json.loads(req.body)
        if int(body.get("WaitTimeSeconds", 0)) > seconds:
            body["WaitTimeSeconds"] = seconds
            req.body = json.dumps(body).encode()

    def answer(self, req):
        """A response to send without asking upstream, or None; it may
        change the request."""
        if self.max_wait is not None and self.receive_of(req):
            self.cap_wait(req, self.max_wait)
        return None

    def change(self, req, resp):
        return resp


class ReorderMode(PassMode):
    """Reverses ReceiveMessage answers and holds some messages back."""

    def __init__(self, args):
        super().__init__(args)
        self.random = random.Random(args.seed)
        self.hold = args.hold
        self.hold_for = args.hold_for
        self.held = {}  # queue URL -> [(since, message)]
        self.stats.update(receives=0, reversed=0, held=0, released=0)

    def release(self, queue, room):
        held = self.held.get(queue, [])
        out, self.held[queue] = held[:room], held[room:]
        self.stats["released"] += len(out)
        return [m for _, m in out]

    def answer(self, req):
        super().answer(req)
        receive = self.receive_of(req)
        if not receive:
            return None
        queue, room = receive
        held = self.held.get(queue, [])
        if not held:
            return None
        if time.monotonic() - held[0][0] < self.hold_for:
            # A long poll would keep the held messages until it ends.
            self.cap_wait(req, 1)
            return None
        self.stats["receives"] += 1
        return Response.json(200, {"Messages": self.release(queue, room)[::-1]})

    def change(self, req, resp):
        receive = self.receive_of(req)
        if not receive or resp.status != 200:
            return resp
        queue, room = receive
        self.stats["receives"] += 1
        try:
            body = json.loads(resp.body or b"{}")
        except ValueError:
            return resp
        fresh = body.get("Messages") or []
        if len(fresh) > 1:
            self.stats["reversed"] += 1
        fresh = fresh[::-1]
        keep, hold = [], []
        for m in fresh:
            # An answer that would be empty keeps its last message: an empty
            # answer tells a consumer that the queue drained.
            if self.random.random() < self.hold and (keep or m is not fresh[-1]):
                hold.append(m)
            else:
                keep.append(m)
        # Messages held by earlier answers come after this answer's own.
        if not fresh:
            keep = self.release(queue, room)[::-1]
        else:
            keep += self.release(queue, max(0, room - len(keep)))
        now = time.monotonic()
        self.held.setdefault(queue, []).extend((now, m) for m in hold)
        self.stats["held"] += len(hold)
        body["Messages"] = keep
        if not keep:
            body.pop("Messages")
        resp.body = json.dumps(body).encode()
        # The checksum of the emulator's body, if it sent one, is not this
        # body's.
        resp.headers = [(k, v) for k, v in resp.headers if k.lower() != "x-amz-crc32"]
        return resp


def service_of(req):
    """(service, operation) of a request: "sqs", "dynamodb", "s3" or "other"."""
    target = req.header("X-Amz-Target") or ""
    if target.startswith("AmazonSQS."):
        return "sqs", target.split(".", 1)[1]
    if target.startswith("DynamoDB_"):
        return "dynamodb", target.split(".", 1)[1]
    auth = req.header("Authorization") or ""
    scope = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request", auth)
    service = scope.group(1) if scope else ""
    if service == "s3":
        path = urlsplit(req.target).path
        return "s3", f"{req.method} {'object' if path.strip('/').count('/') else 'bucket'}"
    if service in ("sqs", "dynamodb"):
        return service, target or req.method
    return "other", req.method


class Reset:
    """Stands for an answer: reset the connection, after sending `partial`
    (bytes of a real answer, possibly empty)."""

    def __init__(self, partial=b""):
        self.partial = partial


class FaultMode(PassMode):
    """Fails a seeded fraction of the requests, before or after upstream."""

    KINDS = ("500", "503", "throttle", "reset", "partial")

    def __init__(self, args):
        super().__init__(args)
        # One generator per service: the n-th request of a service meets the
        # same fate whatever the others do meanwhile.
        self.randoms = {}
        self.seed = args.seed
        self.rate = {}
        for spec in [f"*={args.fault_rate}"] + (args.service_rate or []):
            service, _, rate = spec.partition("=")
            self.rate[service] = float(rate)
        self.after = args.after
        self.kinds = [k.strip() for k in args.faults.split(",") if k.strip()]
        for k in self.kinds:
            if k not in self.KINDS:
                sys.exit(f"aws_proxy: unknown fault {k!r} (known: {', '.join(self.KINDS)})")
        self.verbose = args.verbose
        self.started = time.monotonic()
        self.stats.update(injected={}, faults=0, by_service={}, requests_by_service={})

    def count(self, req, kind, when):
        service, operation = service_of(req)
        self.stats["faults"] += 1
        key = f"{kind} {when}"
        self.stats["injected"][key] = self.stats["injected"].get(key, 0) + 1
        by = self.stats["by_service"].setdefault(service, {})
        by[operation] = by.get(operation, 0) + 1
        if self.verbose:
            print(f"aws_proxy: {time.monotonic() - self.started:9.3f} s: {key}: {service} "
                  f"{operation} (proxy-{self.stats['faults']})", file=sys.stderr)

    def random_of(self, service):
        if service not in self.randoms:
            self.randoms[service] = random.Random(f"{self.seed}/{service}")
        return self.randoms[service]

    def error(self, req, kind):
        service, _ = service_of(req)
        rid = f"proxy-{self.stats['faults']}"
        if service == "s3":
            code, status = {"500": ("InternalError", 500), "503": ("SlowDown", 503),
                            "throttle": ("SlowDown", 503)}[kind]
            body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                    f"<Message>injected by aws_proxy</Message><RequestId>{rid}</RequestId>"
                    "</Error>").encode()
            # An answer to HEAD has no body: S3 says it all in the status.
            return Response(status, "Error", [("Content-Type", "application/xml"),
                                              ("x-amz-request-id", rid)],
                            b"" if req.method == "HEAD" else body)
        headers = [("x-amzn-RequestId", rid)]
        if kind == "500":
            status, type_ = 500, "com.amazon.coral.service#InternalFailure"
        elif kind == "503":
            status, type_ = 503, "com.amazon.coral.service#ServiceUnavailableException"
        elif service == "sqs":
            status, type_ = 400, "com.amazonaws.sqs#RequestThrottled"
            headers.append(("x-amzn-query-error", "AWS.SimpleQueueService.RequestThrottled;Sender"))
        elif self.random_of(service).random() < 0.5:
            status, type_ = 400, "com.amazon.coral.availability#ThrottlingException"
        else:
            status, type_ = 400, ("com.amazonaws.dynamodb.v20120810#"
                                  "ProvisionedThroughputExceededException")
        resp = Response.json(status, {"__type": type_, "message": "injected by aws_proxy"})
        resp.headers += headers
        return resp

    def answer(self, req):
        super().answer(req)
        service = service_of(req)[0]
        by = self.stats["requests_by_service"]
        by[service] = by.get(service, 0) + 1
        rng = self.random_of(service)
        if not self.kinds or rng.random() >= self.rate.get(service, self.rate["*"]):
            return None
        kinds = self.kinds
        if not self.batch_of(req):
            kinds = [k for k in kinds if k != "partial"] or ["500"]
        kind = rng.choice(kinds)
        if rng.random() < self.after:
            req.fault = kind  # for change()
            return None
        self.count(req, kind, "before")
        if kind == "partial":
            # Some entries are not sent on at all, and reported failed.
            body = self.batch_of(req)
            entries = body["Entries"]
            failed = self.pick(rng, entries)
            body["Entries"] = [e for e in entries if e["Id"] not in failed]
            req.failed = failed  # for change()
            if not body["Entries"]:
                return self.fail_entries(Response.json(200, {"Successful": []}), failed)
            req.body = json.dumps(body).encode()
            return None
        return Reset() if kind == "reset" else self.error(req, kind)

    @staticmethod
    def batch_of(req):
        """The body of an SQS batch request (SendMessageBatch,
        DeleteMessageBatch, ChangeMessageVisibilityBatch), or None."""
        service, operation = service_of(req)
        if service != "sqs" or not operation.endswith("Batch"):
            return None
        try:
            body = json.loads(req.body)
        except ValueError:
            return None
        return body if isinstance(body.get("Entries"), list) and body["Entries"] else None

    @staticmethod
    def pick(rng, entries):
        """The ids of about half the entries, at least one."""
        ids = [e["Id"] for e in entries]
        return set(rng.sample(ids, max(1, len(ids) // 2)))

    @staticmethod
    def fail_entries(resp, failed):
        """`resp` (a batch answer) with the entries `failed` in Failed."""
        try:
            body = json.loads(resp.body or b"{}")
        except ValueError:
            return resp
        body["Successful"] = [e for e in body.get("Successful") or [] if e.get("Id") not in failed]
        body["Failed"] = (body.get("Failed") or []) + [
            {"Id": i, "SenderFault": False, "Code": "InternalError",
             "Message": "injected by aws_proxy"} for i in sorted(failed)]
        resp.body = json.dumps(body).encode()
        resp.headers = [(k, v) for k, v in resp.headers if k.lower() != "x-amz-crc32"]
        return resp

    def change(self, req, resp):
        if getattr(req, "failed", None) and resp.status == 200:
            return self.fail_entries(resp, req.failed)
        kind = getattr(req, "fault", None)
        if kind is None:
            return resp
        self.count(req, kind, "after")
        if kind == "partial":
            # Carried out, but some entries reported failed.
            if resp.status != 200:
                return resp
            body = json.loads(resp.body or b"{}")
            done = [e for e in body.get("Successful") or []]
            return self.fail_entries(resp, self.pick(self.random_of("sqs"), done)) if done else resp
        if kind != "reset":
            return self.error(req, kind)
        partial = b""
        if req.method == "GET" and service_of(req)[0] == "s3" and len(resp.body) > 1:
            # The head and half the body: a download cut short.
            whole = serialize(f"HTTP/1.1 {resp.status} {resp.reason}", resp.headers, resp.body)
            partial = whole[:len(whole) - len(resp.body) // 2]
        return Reset(partial)


MODES = {"pass": PassMode, "reorder": ReorderMode, "faults": FaultMode}


# ---- HTTP ----

async def read_head(reader, first=b""):
    """The head of a message (up to the blank line), or None at EOF."""
    data = first
    while b"\r\n\r\n" not in data:
        chunk = await reader.read(4096)
        if not chunk:
            return None, b""
        data += chunk
        if len(data) > MAX_HEADER_BYTES:
            raise ValueError("header too long")
    head, rest = data.split(b"\r\n\r\n", 1)
    return head.decode("latin-1").split("\r\n"), rest


def parse_headers(lines):
    headers = []
    for line in lines:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return headers


def header_of(headers, name):
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


async def read_body(reader, headers, rest, until_eof):
    """The body by Content-Length, chunked encoding or (answers) EOF, and
    what was read beyond it."""
    length = header_of(headers, "content-length")
    if length is not None:
        n = int(length)
        while len(rest) < n:
            chunk = await reader.read(n - len(rest))
            if not chunk:
                raise ValueError("body cut short")
            rest += chunk
        return rest[:n], rest[n:]
    if (header_of(headers, "transfer-encoding") or "").lower() == "chunked":
        body = b""
        while True:
            while b"\r\n" not in rest:
                chunk = await reader.read(4096)
                if not chunk:
                    raise ValueError("chunk size cut short")
                rest += chunk
            size_line, rest = rest.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            while len(rest) < size + 2:
                chunk = await reader.read(4096)
                if not chunk:
                    raise ValueError("chunk cut short")
                rest += chunk
            body, rest = body + rest[:size], rest[size + 2:]
            if size == 0:
                return body, rest  # trailers are not used by AWS
    if until_eof:
        return rest + await reader.read(), b""
    return b"", rest


def serialize(start, headers, body, head=False):
    """A message with its Content-Length; an answer to HEAD (`head`) keeps
    the one it had (the length of what a GET would give)."""
    skip = {"content-length", "transfer-encoding", "connection", "expect"}
    lines = [start] + [f"{k}: {v}" for k, v in headers if k.lower() not in skip]
    length = header_of(headers, "content-length") if head else None
    lines.append(f"Content-Length: {length if length is not None else len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def loopback(url):
    up = urlsplit(url)
    if up.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("aws_proxy: the upstream must be on loopback")
    return up.hostname, up.port or 80


async def sent(writer, timeout=5.0):
    """Until the kernel sent what was written (the client took it), or
    `timeout` seconds (a client that does not read)."""
    sock = writer.get_extra_info("socket")
    if sock is None:
        return
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            queued = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ,
                                                    b"\0" * 4))[0]
        except OSError:
            return
        if queued == 0:
            return
        await asyncio.sleep(0.01)


def reset(writer):
    """Closes the connection with a RST rather than a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


class Proxy:
    def __init__(self, args):
        self.upstreams = {"other": loopback(args.upstream)}
        for service in ("s3", "sqs", "dynamodb"):
            url = getattr(args, f"upstream_{service}")
            self.upstreams[service] = loopback(url) if url else self.upstreams["other"]
        self.mode = MODES[args.mode](args)
        self.mode.stats["down"] = {"windows": 0, "seconds": 0, "connections_reset": 0}
        self.mode.stats["operations"] = {}  # "service operation" -> requests
        self.server = None
        self.port = 0
        self.clients = set()  # writers of the open client connections
        self.down_until = 0.0
        self.down_plan = None
        self.stall_plan = None  # (service, N, seconds)
        self.stall_service = None
        self.stall_until = 0.0
        if args.stall:
            at, _, length = args.stall.rpartition(":")
            service, _, n = at.rpartition("@")
            if not service:
                raise SystemExit("--stall takes SERVICE@N:FOR")
            self.stall_plan = (service, float(n), float(length))
        self.latency = args.latency / 1000.0
        self.cuts_left = args.cut_gets
        self.cut_random = random.Random(f"{args.seed}/cut")
        self.mode.stats["cut"] = {"planned": args.cut_gets, "cut": 0, "ranged_gets": 0}
        self.mode.stats["entries"] = {"asked": 0, "queued": 0}
        if args.down:
            # "SECONDS:FOR" or "SERVICE@N:FOR" (at the N-th request of
            # SERVICE, before it is forwarded).
            at, _, length = args.down.rpartition(":")
            service, _, n = at.rpartition("@")
            self.down_plan = (service, float(n), float(length))

    async def listen(self):
        for attempt in range(100):
            try:
                self.server = await asyncio.start_server(self.serve, "127.0.0.1", self.port,
                                                         reuse_address=True)
                break
            except OSError as e:
                # Only on the way back up: someone else holds the port for
                # a moment; the window lasts a little longer.
                if not self.port or attempt == 99:
                    raise
                print(f"aws_proxy: listening again on {self.port}: {e}", file=sys.stderr)
                await asyncio.sleep(0.1)
        self.port = self.server.sockets[0].getsockname()[1]

    async def go_down_now(self, seconds):
        """Goes down, and returns once the open connections are reset
        (the window goes on)."""
        asyncio.ensure_future(self.go_down(seconds))
        await asyncio.sleep(0)

    async def go_down(self, seconds):
        """Refuses connections for `seconds`, and resets the open ones."""
        now = time.monotonic()
        if now < self.down_until:
            return
        self.down_until = now + seconds
        down = self.mode.stats["down"]
        down["windows"] += 1
        down["seconds"] += seconds
        # What had been asked by then, for the test to tell where in the
        # work the outage fell.
        down["operations_before"] = dict(self.mode.stats["operations"])
        print(f"aws_proxy: down for {seconds} s", file=sys.stderr)
        self.server.close()
        for writer in list(self.clients):
            down["connections_reset"] += 1
            reset(writer)
        await asyncio.sleep(seconds)
        await self.listen()
        print("aws_proxy: up again", file=sys.stderr)

    def stall_over(self):
        stall = self.mode.stats["stall"]
        stall["operations_after"] = dict(self.mode.stats["operations"])
        print(f"aws_proxy: {self.stall_service} goes on", file=sys.stderr)

    async def stall(self, service, ops):
        """Holds a request of the stalled service until the window ends;
        starts the window at the planned request."""
        if self.stall_plan and service == self.stall_plan[0]:
            seen = sum(v for k, v in ops.items() if k.startswith(service + " "))
            if seen >= self.stall_plan[1]:
                length = self.stall_plan[2]
                self.stall_plan = None
                self.stall_service = service
                self.stall_until = time.monotonic() + length
                self.mode.stats["stall"] = {"service": service, "seconds": length, "held": 0,
                                            "operations_before": dict(ops)}
                asyncio.get_running_loop().call_later(length, self.stall_over)
                print(f"aws_proxy: {service} stalled for {length} s", file=sys.stderr)
        wait = self.stall_until - time.monotonic()
        if service == self.stall_service and wait > 0:
            self.mode.stats["stall"]["held"] += 1
            await asyncio.sleep(wait)

    async def forward(self, req):
        service = service_of(req)[0]
        reader, writer = await asyncio.open_connection(*self.upstreams[service])
        try:
            writer.write(serialize(f"{req.method} {req.target} HTTP/1.1",
                                   req.headers + [("Connection", "close")], req.body))
            await writer.drain()
            head, rest = await read_head(reader)
            if head is None:
                raise ValueError("upstream closed without answering")
            _, status, reason = (head[0].split(" ", 2) + [""])[:3]
            headers = parse_headers(head[1:])
            no_body = req.method == "HEAD" or status in ("204", "304")
            body = b"" if no_body else (await read_body(reader, headers, rest, True))[0]
            return Response(int(status), reason, headers, body)
        finally:
            writer.close()

    def cut(self, req, resp):
        """The GetObject answer cut in the middle of its body, while
        --cut-gets has cuts left; else `resp`."""
        if (not self.cuts_left or not isinstance(resp, Response) or resp.status not in (200, 206)
                or len(resp.body) < 2):
            return resp
        self.cuts_left -= 1
        self.mode.stats["cut"]["cut"] += 1
        at = int(len(resp.body) * self.cut_random.uniform(0.05, 0.95))
        print(f"aws_proxy: GetObject cut at byte {at} of {len(resp.body)} "
              f"(Range: {req.header('Range') or 'none'})", file=sys.stderr)
        whole = serialize(f"HTTP/1.1 {resp.status} {resp.reason}", resp.headers, resp.body)
        return Reset(whole[:len(whole) - len(resp.body) + at])

    @staticmethod
    def entries_of(body):
        try:
            return len(json.loads(body or b"{}").get("Entries") or [])
        except (ValueError, AttributeError):
            return 0

    async def carry(self, req, service, operation):
        """Forwards the request, counting what a SendMessageBatch queued
        and what a GetObject asked."""
        if service == "s3" and operation == "GET object" and req.header("Range"):
            self.mode.stats["cut"]["ranged_gets"] += 1
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        resp = await self.forward(req)
        if service == "sqs" and operation == "SendMessageBatch" and resp.status == 200:
            try:
                queued = len(json.loads(resp.body or b"{}").get("Successful") or [])
            except (ValueError, AttributeError):
                queued = 0
            self.mode.stats["entries"]["queued"] += queued
        return resp

    async def handle(self, req):
        if req.method == "GET" and req.target == "/__proxy/stats":
            return Response.json(200, self.mode.stats)
        if req.method == "GET" and req.target.startswith("/__proxy/down?seconds="):
            seconds = float(req.target.split("=", 1)[1])
            # After this answer has gone out.
            asyncio.get_running_loop().call_later(0.05, asyncio.ensure_future,
                                                  self.go_down(seconds))
            return Response.json(200, {"down": seconds})
        self.mode.stats["requests"] += 1
        service, operation = service_of(req)
        ops = self.mode.stats["operations"]
        ops[f"{service} {operation}"] = ops.get(f"{service} {operation}", 0) + 1
        if self.down_plan:
            service_at, at, length = self.down_plan
            if not service_at:
                self.down_plan = None
                asyncio.get_running_loop().call_later(at, asyncio.ensure_future,
                                                      self.go_down(length))
            elif service == service_at:
                seen = sum(v for k, v in ops.items() if k.startswith(service + " "))
                if seen >= at:
                    self.down_plan = None
                    await self.go_down_now(length)
                    raise ConnectionResetError("down")
        await self.stall(service, ops)
        if service == "sqs" and operation == "SendMessageBatch":
            self.mode.stats["entries"]["asked"] += self.entries_of(req.body)
        resp = self.mode.answer(req)
        if resp is None:
            resp = self.mode.change(req, await self.carry(req, service, operation))
            if service == "s3" and operation == "GET object":
                resp = self.cut(req, resp)
        return resp

    async def serve(self, reader, writer):
        self.clients.add(writer)
        pending = b""
        try:
            while True:
                head, rest = await read_head(reader, pending)
                if head is None:
                    return
                method, target, version = head[0].split(" ", 2)
                headers = parse_headers(head[1:])
                if (header_of(headers, "expect") or "").lower() == "100-continue":
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    await writer.drain()
                body, pending = await read_body(reader, headers, rest, False)
                req = Request(method, target, version, headers, body)
                # A client that goes away (a daemon stopping in the middle
                # of a long poll) cancels the request upstream too.
                work = asyncio.ensure_future(self.handle(req))
                gone = asyncio.ensure_future(reader.read(1))
                done, _ = await asyncio.wait({work, gone}, return_when=asyncio.FIRST_COMPLETED)
                if gone not in done:
                    # Wait for the cancellation to land: the stream takes
                    # one reader at a time.
                    gone.cancel()
                    await asyncio.wait({gone})
                extra = None if gone.cancelled() or gone.exception() else gone.result()
                if gone in done and (extra == b"" or gone.exception()):
                    work.cancel()
                    return
                pending += extra or b""
                resp = await work
                if isinstance(resp, Reset):
                    if resp.partial:
                        # All of it to the kernel, and from there to the
                        # client: a reset drops what is still queued.
                        writer.transport.set_write_buffer_limits(0)
                        writer.write(resp.partial)
                        await writer.drain()
                        await sent(writer)
                    reset(writer)
                    return
                writer.write(serialize(f"HTTP/1.1 {resp.status} {resp.reason}",
                                       resp.headers, resp.body, method == "HEAD"))
                await writer.drain()
                if (header_of(headers, "connection") or "").lower() == "close":
                    return
        except (ConnectionError, ValueError, asyncio.CancelledError, OSError) as e:
            if not isinstance(e, (ConnectionError, asyncio.CancelledError)):
                print(f"aws_proxy: {e}", file=sys.stderr)
        finally:
            self.clients.discard(writer)
            writer.close()


async def watch_parent(parent):
    while os.getppid() == parent:
        await asyncio.sleep(1)
    os._exit(0)


async def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--upstream", required=True,
                   help="where requests of any other service go")
    for service in ("s3", "sqs", "dynamodb"):
        p.add_argument(f"--upstream-{service}", default=None,
                       help=f"where {service} requests go (default: --upstream)")
    p.add_argument("--port-file", required=True)
    p.add_argument("--mode", choices=sorted(MODES), default="pass")
    p.add_argument("--max-wait", type=int, default=None,
                   help="caps the WaitTimeSeconds of ReceiveMessage, so that a "
                        "daemon stops sooner")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--hold", type=float, default=0.3,
                   help="reorder: the fraction of messages held back")
    p.add_argument("--hold-for", type=float, default=0.5,
                   help="reorder: seconds after which held messages are given without a poll")
    p.add_argument("--fault-rate", type=float, default=0.1,
                   help="faults: the fraction of requests that fail")
    p.add_argument("--service-rate", action="append", metavar="SERVICE=RATE",
                   help="faults: another --fault-rate for one service (s3, sqs, dynamodb)")
    p.add_argument("--faults", default="500,503,throttle,reset",
                   help="faults: the kinds, comma-separated (500, 503, throttle, reset, partial)")
    p.add_argument("--after", type=float, default=0.5,
                   help="faults: the fraction of faults injected after upstream carried "
                        "the request out")
    p.add_argument("--down", default=None, metavar="AT:FOR",
                   help="refuse connections for FOR seconds, AT seconds after the first "
                        "request, or at the N-th request of a service when AT is SERVICE@N "
                        "(any mode)")
    p.add_argument("--stall", default=None, metavar="SERVICE@N:FOR",
                   help="hold every request of SERVICE for FOR seconds from its N-th "
                        "(any mode), then forward them")
    p.add_argument("--cut-gets", type=int, default=0, metavar="N",
                   help="reset the next N GetObject answers in the middle of their body "
                        "(any mode)")
    p.add_argument("--latency", type=float, default=0, metavar="MS",
                   help="hold every request MS milliseconds before forwarding it (any mode)")
    p.add_argument("--verbose", action="store_true", help="log every injected fault")
    args = p.parse_args()
    proxy = Proxy(args)
    await proxy.listen()
    port = proxy.port
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.replace(tmp, args.port_file)
    asyncio.ensure_future(watch_parent(os.getppid()))
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
