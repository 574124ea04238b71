#!/usr/bin/env python3
"""moto_server, with DynamoDB's PartiQL UPDATE in BatchExecuteStatement.

sink-dynamodb's batch_updates sends conditional updates as the UPDATE
statements of BatchExecuteStatement. moto 5.2 answers that operation but
not these statements (a conditional UPDATE with parameters fails inside
it), and dynalite has no PartiQL at all. This serves moto's application
and answers a BatchExecuteStatement of UPDATE statements itself, running
each as DynamoDB documents PartiQL's UPDATE:

  - its WHERE clause names the whole primary key with '=' and may add a
    condition; the condition must hold for the stored item, and an absent
    item fails it (ConditionalCheckFailed): UPDATE never creates an item;
  - each SET "name"=? sets an attribute to a parameter;
  - with ReturnValuesOnConditionCheckFailure ALL_OLD, a statement that
    failed its condition carries the stored item, when there is one;
  - each statement has its own result, in the order of the request.

Only the statement's text is read here: each statement becomes moto's
UpdateItem (the key, SET as an UpdateExpression, the condition as a
ConditionExpression with attribute_exists of the key), so that moto's own
evaluation of conditions decides, and its GetItem reads the stored item.
A statement this does not understand is answered ValidationError. Every
other request goes to moto unchanged. DynamoDB requests are served one at
a time, so that a statement's UpdateItem and GetItem see one state.
GET /moto-partiql/stats answers what the statements did so far:
{"statements": n, "written": n, "failed_with_item": n, "failed": n}.

Usage: moto_partiql.py [-H HOST] -p PORT (a test tool; tests/integration/
dynamodb_batch_updates.sh starts it through aws-env.sh).
"""
import argparse
import json
import re
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import (DomainDispatcherApplication,
                                           create_backend_app)
from werkzeug.serving import run_simple
from werkzeug.test import EnvironBuilder, run_wsgi_app

API = "DynamoDB_20120810."
TOKEN = re.compile(r'\s*(?:("(?:[^"]|"")*")|(\?)|(<=|>=|<>|=|<|>)|([()])'
                   r'|([A-Za-z_]+))')
ERROR_CODES = {
    "ConditionalCheckFailedException": "ConditionalCheckFailed",
    "ValidationException": "ValidationError",
    "ResourceNotFoundException": "ResourceNotFound",
}


class Unsupported(Exception):
    pass


def tokens(text):
    """The statement's tokens: ('id', name), ('?',), ('op', op), ('kw', WORD),
    ('(',) and (')',)."""
    out, at = [], 0
    while at < len(text.rstrip()):
        m = TOKEN.match(text, at)
        if not m:
            raise Unsupported("cannot read the statement at: " + text[at:])
        at = m.end()
        name, param, op, paren, word = m.groups()
        if name:
            out.append(("id", name[1:-1].replace('""', '"')))
        elif param:
            out.append(("?",))
        elif op:
            out.append(("op", op))
        elif paren:
            out.append((paren,))
        else:
            out.append(("kw", word.upper()))
    return out


def split_and(toks):
    """The WHERE clause's conjuncts at depth 0."""
    parts, depth, cur = [], 0, []
    for t in toks:
        if t == ("(",):
            depth += 1
        elif t == (")",):
            depth -= 1
        if depth == 0 and t == ("kw", "AND"):
            parts.append(cur)
            cur = []
        else:
            cur.append(t)
    parts.append(cur)
    return parts


def top_level_or(part):
    depth = 0
    for t in part:
        depth += (t == ("(",)) - (t == (")",))
        if depth == 0 and t == ("kw", "OR"):
            return True
    return False


def update_item_of(statement, params, key_names):
    """The UpdateItem request of one UPDATE statement with its parameters."""
    toks = tokens(statement)
    params = list(params)
    names, values = {}, {}

    def name_of(n):
        ph = "#n%d" % len(names)
        names[ph] = n
        return ph

    def value_of():
        if not params:
            raise Unsupported("more '?' than parameters")
        ph = ":p%d" % len(values)
        values[ph] = params.pop(0)
        return ph

    if len(toks) < 2 or toks[0] != ("kw", "UPDATE") or toks[1][0] != "id":
        raise Unsupported("not an UPDATE of a table")
    table, at, sets = toks[1][1], 2, []
    while at < len(toks) and toks[at] == ("kw", "SET"):
        if (toks[at + 1][0] != "id" or toks[at + 2] != ("op", "=")
                or toks[at + 3] != ("?",)):
            raise Unsupported("SET takes \"name\"=? here")
        sets.append("%s = %s" % (name_of(toks[at + 1][1]), value_of()))
        at += 4
    if not sets or at >= len(toks) or toks[at] != ("kw", "WHERE"):
        raise Unsupported("no SET, or no WHERE")
    key, conditions = {}, []
    for part in split_and(toks[at + 1:]):
        if (len(part) == 3 and part[0][0] == "id" and part[0][1] in key_names
                and part[1] == ("op", "=") and part[2] == ("?",)):
            key[part[0][1]] = value_of()
            continue
        text, i = [], 0
        while i < len(part):
            t = part[i]
            if t[0] == "id" and part[i + 1:i + 3] == [("kw", "IS"),
                                                      ("kw", "MISSING")]:
                text.append("attribute_not_exists(%s)" % name_of(t[1]))
                i += 3
                continue
            if t[0] == "id":
                text.append(name_of(t[1]))
            elif t == ("?",):
                text.append(value_of())
            elif t[0] in ("op", "kw"):
                if t[0] == "kw" and t[1] not in ("AND", "OR", "NOT"):
                    raise Unsupported("the word " + t[1])
                text.append(t[1])
            else:
                text.append(t[0])
            i += 1
        if top_level_or(part):
            raise Unsupported("OR outside parentheses")
        conditions.append(" ".join(text))
    if set(key) != set(key_names):
        raise Unsupported("the WHERE clause does not name the whole key")
    if params:
        raise Unsupported("more parameters than '?'")
    key_values = {k: values.pop(ph) for k, ph in key.items()}
    exists = "attribute_exists(%s)" % name_of(key_names[0])
    request = {
        "TableName": table,
        "Key": key_values,
        "UpdateExpression": "SET " + ", ".join(sets),
        "ConditionExpression": " AND ".join([exists] + conditions),
        "ExpressionAttributeNames": names,
    }
    if values:
        request["ExpressionAttributeValues"] = values
    return request


class PartiqlApp:
    def __init__(self, inner):
        self.inner = inner
        self.lock = threading.Lock()
        self.keys = {}
        self.stats = {"statements": 0, "written": 0, "failed_with_item": 0,
                      "failed": 0}

    def call(self, environ, operation, body):
        """Runs `operation` on moto with the headers of `environ`."""
        headers = {k[5:].replace("_", "-"): v for k, v in environ.items()
                   if k.startswith("HTTP_")}
        headers["X-Amz-Target"] = API + operation
        headers["Content-Type"] = "application/x-amz-json-1.0"
        env = EnvironBuilder(method="POST", path="/", headers=headers,
                             data=json.dumps(body)).get_environ()
        app_iter, status, _ = run_wsgi_app(self.inner, env)
        try:
            data = b"".join(app_iter)
        finally:
            getattr(app_iter, "close", lambda: None)()
        return int(status.split()[0]), json.loads(data or b"{}")

    def key_names(self, environ, table):
        if table not in self.keys:
            status, answer = self.call(environ, "DescribeTable",
                                       {"TableName": table})
            if status != 200:
                return None
            schema = answer["Table"]["KeySchema"]
            schema.sort(key=lambda k: k["KeyType"] != "HASH")
            self.keys[table] = [k["AttributeName"] for k in schema]
        return self.keys[table]

    def statement(self, environ, request):
        text = request.get("Statement", "")
        m = re.match(r'\s*UPDATE\s+"((?:[^"]|"")*)"', text, re.I)
        table = m.group(1).replace('""', '"') if m else ""
        response = {"TableName": table}
        key_names = self.key_names(environ, table) if m else None
        try:
            if not key_names:
                raise Unsupported("no such table, or not an UPDATE")
            update = update_item_of(text, request.get("Parameters", []),
                                    key_names)
        except Unsupported as e:
            response["Error"] = {"Code": "ValidationError", "Message": str(e)}
            return response
        status, answer = self.call(environ, "UpdateItem", update)
        self.stats["statements"] += 1
        if status == 200:
            self.stats["written"] += 1
            return response
        code = answer.get("__type", "").split("#")[-1]
        error = {"Code": ERROR_CODES.get(code, "InternalServerError"),
                 "Message": answer.get("message", answer.get("Message", ""))}
        if (error["Code"] == "ConditionalCheckFailed" and
                request.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"):
            status, got = self.call(environ, "GetItem",
                                    {"TableName": table, "Key": update["Key"],
                                     "ConsistentRead": True})
            if status == 200 and "Item" in got:
                error["Item"] = got["Item"]
        self.stats["failed_with_item" if "Item" in error else "failed"] += 1
        response["Error"] = error
        return response

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if environ.get("PATH_INFO") == "/moto-partiql/stats":
            with self.lock:
                data = json.dumps(self.stats).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [data]
        if not target.startswith(API):
            return self.inner(environ, start_response)
        with self.lock:
            if target != API + "BatchExecuteStatement":
                return list(self.inner(environ, start_response))
            size = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(size) or b"{}")
            answer = {"Responses": [self.statement(environ, s)
                                    for s in body.get("Statements", [])]}
            data = json.dumps(answer).encode()
            start_response("200 OK", [
                ("Content-Type", "application/x-amz-json-1.0"),
                ("Content-Length", str(len(data)))])
            return [data]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, PartiqlApp(app), threaded=True)


if __name__ == "__main__":
    main()
