#!/usr/bin/env python3
"""A loopback HTTP server that records what is POSTed to it, for tests.

    http_recorder.py --port-file FILE --out FILE [--fail-first N]

It listens on 127.0.0.1 (an ephemeral port, written to --port-file once it
listens) and appends the body of every POST it accepts to --out, one line
each (the bodies are expected to hold no newline: compact JSON). The first
--fail-first POSTs are answered 503 and not recorded, so that a client's
retries are exercised; every other POST gets 200. It runs until killed.
"""
import argparse
import http.server
import os


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    args = parser.parse_args()
    state = {"failures_left": args.fail_first}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if state["failures_left"] > 0:
                state["failures_left"] -= 1
                self.answer(503, b"try again")
                return
            with open(args.out, "ab") as out:
                out.write(body + b"\n")
            self.answer(200, b"ok")

        def answer(self, status, text):
            self.send_response(status)
            self.send_header("Content-Length", str(len(text)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, fmt, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
