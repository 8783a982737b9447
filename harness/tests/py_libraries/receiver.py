#!/usr/bin/env python3
"""A webhook receiver that verifies with the sender's own library.

What a team writes from a sender's docs: read the raw body, verify it with
the library (anything it raises is a 401), parse the JSON, check the
envelope the sender documents (400 otherwise), answer the sender's endpoint
challenge where it has one (Slack's `url_verification`, Discord's Webhook
Events PING), process each event once by its dedupe key and answer 200. The
processing ledger is served at `GET /ledger` (a JSON array of {"id", "seq"}
in processing order).

Usage: receiver.py LIBRARY [--port N] [--fault NAME ...]
LIBRARY: standardwebhooks, svix, stripe, slack_sdk, pynacl-discord, paddle
(see senders.py). The secret comes from $HOOK_SECRET; for pynacl-discord it
is the application's *public* key (hex), all a Discord receiver holds. Port 0 (the default) picks a free port, printed alone
on the first stdout line. Faults: `skip-verify` never calls the library
(the receiver a check must catch); `catch-only-library-error` catches only
the error class the library's docs catch, so anything else the library
raises becomes a 500 (as in a web framework's handler).
"""

import argparse
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import senders

MAX_BODY_BYTES = 1024 * 1024


def challenge_answer(library, event):
    """(status, body) answering the sender's endpoint challenge, when `event`
    (verified already) is one; None for an ordinary delivery."""
    if not isinstance(event, dict):
        return None
    if library == "slack_sdk" and event.get("type") == "url_verification":
        # docs.slack.dev/reference/events/url_verification: HTTP 200 with
        # the `challenge` value (here as JSON, one of the forms Slack takes).
        return 200, json.dumps({"challenge": event.get("challenge")}).encode("utf-8")
    if library == "pynacl-discord" and event.get("type") == 0 and "event" not in event:
        # discord.com/developers/docs/events/webhook-events, "Preparing for
        # events": acknowledge the PING with 204 and an empty body.
        return 204, b""
    return None


def envelope_problem(library, event):
    """Why `event` is not what the sender documents, or None."""
    if not isinstance(event, dict):
        return "body is not a JSON object"
    if library == "slack_sdk":
        # docs.slack.dev/apis/events-api, "Callback fields"
        if event.get("type") != "event_callback" or not isinstance(event.get("event_id"), str):
            return "not a Slack event_callback"
        inner = event.get("event")
        if not isinstance(inner, dict) or not isinstance(inner.get("type"), str):
            return "`event.type` must be a string"
        return None
    if library == "pynacl-discord":
        # discord.com/developers/docs/events/webhook-events, "Webhook event
        # payloads": type 1 (an event) with `event.type` and `event.data`.
        inner = event.get("event")
        if event.get("type") != 1 or not isinstance(inner, dict):
            return "not a Discord webhook event (`type: 1` with `event`)"
        if not isinstance(inner.get("type"), str) or not isinstance(inner.get("timestamp"), str):
            return "`event.type` and `event.timestamp` must be strings"
        return None
    if library == "paddle":
        # developer.paddle.com/webhooks/overview: the notification's event
        if not isinstance(event.get("event_id"), str) or not isinstance(event.get("event_type"), str):
            return "`event_id` and `event_type` must be strings"
        if not isinstance(event.get("data"), dict):
            return "`data` must be an object"
        return None
    if not isinstance(event.get("type"), str) or not event["type"]:
        return "`type` must be a non-empty string"
    if library == "stripe":
        # docs.stripe.com/api/events/object
        if event.get("object") != "event" or not isinstance(event.get("id"), str):
            return "not a Stripe event object"
        data = event.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
            return "`data.object` must be an object"
    elif library == "svix":
        # Clerk's payload: clerk.com/docs/webhooks/overview
        if event.get("object") != "event" or not isinstance(event.get("data"), dict):
            return "not a Clerk event (`object: event` with `data`)"
        if not isinstance(event.get("instance_id"), str):
            return "`instance_id` must be a string"
    # Standard Webhooks only recommends a payload structure: any sender's
    # JSON object with a `type` is taken.
    return None


def dedupe_key(library, headers, event):
    """The id that identifies a redelivery of the same event."""
    if library == "svix":
        return headers.get("svix-id")
    if library == "standardwebhooks":
        return headers.get("webhook-id")
    if library in ("slack_sdk", "paddle"):
        return event["event_id"]  # the same on Slack's retries and Paddle's
    if library == "pynacl-discord":
        # Discord's Webhook Events carry no event id; the event's own
        # timestamp is what identifies a resend.
        return event["event"]["timestamp"]
    return event["id"]  # Stripe resends the same Event object


class State:
    """Everything shared between request threads, under one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seen = set()
        self.ledger = []

    def process(self, event_id):
        # Check-and-insert under one lock: concurrent duplicates are
        # processed once.
        with self.lock:
            if event_id in self.seen:
                return
            self.seen.add(event_id)
            self.ledger.append({"id": event_id, "seq": None})

    def ledger_json(self):
        with self.lock:
            return json.dumps(self.ledger).encode("utf-8")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    library = None  # set in main()
    verify = None
    skip_verify = False
    refused = Exception  # what the verify call raises for a refused delivery
    state = None

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
        headers = {k.lower(): v for k, v in self.headers.items()}

        if not self.skip_verify:
            try:
                type(self).verify(body, headers)
            except self.refused as e:
                return self.fail(401, f"verification failed: {type(e).__name__}")
            except Exception as e:  # the library could not read it
                return self.fail(500, f"verification crashed: {type(e).__name__}")

        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            return self.fail(415, "expected application/json")
        try:
            event = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return self.fail(400, "malformed JSON")
        challenge = challenge_answer(self.library, event)
        if challenge:
            return self.answer(*challenge)
        problem = envelope_problem(self.library, event)
        if problem:
            return self.fail(400, problem)
        key = dedupe_key(self.library, headers, event)
        if not isinstance(key, str) or not key:
            return self.fail(400, "no event id")
        self.state.process(key)
        return self.answer(200)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that hangs up before its answer (a timed-out probe) is
        # not an error of this receiver; anything else still prints.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "library",
        choices=["standardwebhooks", "svix", "stripe", "slack_sdk", "pynacl-discord", "paddle"],
    )
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--fault", action="append", default=[], choices=["skip-verify", "catch-only-library-error"]
    )
    args = parser.parse_args()
    secret = os.environ.get("HOOK_SECRET")
    if not secret:
        print("error: set HOOK_SECRET to the signing secret", file=sys.stderr)
        return 2
    Handler.library = args.library
    Handler.verify = staticmethod(senders.verifier(args.library, secret))
    Handler.skip_verify = "skip-verify" in args.fault
    if "catch-only-library-error" in args.fault:
        Handler.refused = senders.verification_error(args.library)
    Handler.state = State()
    server = Server(("127.0.0.1", args.port), Handler)
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
