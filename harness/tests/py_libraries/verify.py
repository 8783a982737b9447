#!/usr/bin/env python3
"""Judges `hookstorm events gen --signed` records with a sender's library.

Prints `ready` once the library is loaded, then reads JSONL records {"headers": {...}, "body": "..."} on stdin and writes
one line per record: {"verdict": "accepted"} or {"verdict": "rejected",
"error": "<exception type>: <message>"}. Anything the library raises is a
rejection; the error names it, so a test can tell the library's own
verification error from a crash on odd input.

Usage: verify.py LIBRARY   (the secret comes from $HOOK_SECRET; for
pynacl-discord it is the public key, as a Discord receiver holds it)
LIBRARY: standardwebhooks, standardwebhooks-raw, svix, stripe, pynacl-v1a,
         pagerduty-docs, slack_sdk, paddle, pynacl-discord
"""

import json
import os
import sys

import senders


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in senders.LIBRARIES:
        print(__doc__, file=sys.stderr)
        return 2
    verify = senders.verifier(sys.argv[1], os.environ["HOOK_SECRET"])
    # Imports done: a caller may now sign records with timestamps near the
    # tolerance's edge without start-up eating the margin.
    print("ready", flush=True)
    for line in sys.stdin:
        record = json.loads(line)
        try:
            verify(record["body"].encode("utf-8"), record["headers"])
            verdict = {"verdict": "accepted"}
        except Exception as e:  # the library's error, or its crash
            verdict = {"verdict": "rejected", "error": f"{type(e).__name__}: {e}"}
        print(json.dumps(verdict), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
