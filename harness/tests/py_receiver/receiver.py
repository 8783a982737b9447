#!/usr/bin/env python3
"""A small Authgear webhook receiver in the Python standard library.

It is the non-Rust receiver of hookstorm's end-to-end tests: it verifies
`x-authgear-body-signature` (lowercase hex HMAC-SHA256 of the raw body),
checks the content type and JSON shape, deduplicates by the body `id`,
answers Authgear blocking hooks with `{"is_allowed": true}`, and keeps the
ledger contract at `GET /ledger` (a JSON array of {"id", "seq"} in
processing order).

Usage: receiver.py [--port N] [--secret-env VAR] [--fault NAME ...]
The secret comes from $HOOK_SECRET (or --secret-env). Port 0 (the default)
picks a free port; the chosen port is printed alone on the first stdout
line so a test can read it. Faults: skip-signature, double-process;
harmless deviations (what many hand-written receivers do): uppercase-hex
(compares the hex signature case-insensitively), 400-bad-signature (answers
400 instead of 401); and crash-on-invalid-utf8 (a body that is not UTF-8
raises, so the connection drops without an answer).
"""

import argparse
import hashlib
import hmac
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY_BYTES = 1024 * 1024
FAULTS = (
    "skip-signature",
    "double-process",
    "uppercase-hex",
    "400-bad-signature",
    "crash-on-invalid-utf8",
)
BLOCKING = {
    "user.pre_create",
    "user.profile.pre_update",
    "user.pre_schedule_deletion",
    "user.pre_schedule_anonymization",
    "oidc.jwt.pre_create",
}


class State:
    """Everything shared between request threads, under one lock."""

    def __init__(self, secret, faults):
        self.secret = secret.encode("utf-8")
        self.faults = set(faults)
        self.lock = threading.Lock()
        self.seen = set()
        self.ledger = []

    def process(self, event_id, seq):
        # Check-and-insert under one lock: concurrent duplicates are
        # processed once.
        with self.lock:
            if "double-process" not in self.faults:
                if event_id in self.seen:
                    return
                self.seen.add(event_id)
            self.ledger.append({"id": event_id, "seq": seq})

    def ledger_json(self):
        with self.lock:
            return json.dumps(self.ledger).encode("utf-8")


def shape_problem(event):
    """Why `event` is not an Authgear delivery, or None."""
    if not isinstance(event, dict):
        return "body is not a JSON object"
    if not isinstance(event.get("id"), str) or not event["id"]:
        return "`id` must be a non-empty string"
    seq = event.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int):
        return "`seq` must be an integer"
    if not isinstance(event.get("type"), str):
        return "`type` must be a string"
    if not isinstance(event.get("payload"), dict):
        return "`payload` must be an object"
    if not isinstance(event.get("context"), dict):
        return "`context` must be an object"
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None  # set in main()

    def log_message(self, *args):
        pass  # quiet: the test reads stdout for the port

    def answer(self, status, body=b"{}", close=False):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def fail(self, status, message, close=False):
        self.answer(status, json.dumps({"error": message}).encode("utf-8"), close)

    def do_GET(self):
        if self.path == "/ledger":
            self.answer(200, self.state.ledger_json())
        elif self.path == "/healthz":
            self.answer(200, b"ok")
        else:
            self.fail(404, "not found")

    def do_POST(self):
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self.fail(411, "Content-Length required", close=True)
        if length < 0 or length > MAX_BODY_BYTES:
            return self.fail(413, "body too large", close=True)
        body = self.rfile.read(length)

        if "skip-signature" not in self.state.faults:
            given = self.headers.get("x-authgear-body-signature", "").strip()
            expected = hmac.new(self.state.secret, body, hashlib.sha256).hexdigest()
            if "uppercase-hex" in self.state.faults:
                given = given.lower()
            if not given or not hmac.compare_digest(given, expected):
                status = 400 if "400-bad-signature" in self.state.faults else 401
                return self.fail(status, "bad or missing signature")

        media = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if media != "application/json":
            return self.fail(415, "expected application/json")
        if "crash-on-invalid-utf8" in self.state.faults:
            body.decode("utf-8")  # raises: the handler dies, the connection drops
        try:
            event = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            # RecursionError: json's scanner gives up on deep nesting.
            return self.fail(400, "malformed JSON")
        problem = shape_problem(event)
        if problem:
            return self.fail(400, problem)

        self.state.process(event["id"], event["seq"])
        if event["type"] in BLOCKING:
            return self.answer(200, b'{"is_allowed": true}')
        return self.answer(200)


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a crashed request drops its connection; no traceback noise


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--secret-env", default="HOOK_SECRET")
    parser.add_argument("--fault", action="append", default=[], choices=FAULTS)
    args = parser.parse_args()
    secret = os.environ.get(args.secret_env)
    if not secret:
        print(f"error: set {args.secret_env} to the signing secret", file=sys.stderr)
        return 2
    Handler.state = State(secret, args.fault)
    server = Server(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
