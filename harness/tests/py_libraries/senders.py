"""Webhook verification as the senders' own Python libraries do it.

hookstorm's tests use these to judge its signed deliveries with the code
receivers in the wild run: `standardwebhooks` (the Standard Webhooks
reference library), `svix`, `stripe`, `slack_sdk`, Paddle's
`paddle-python-sdk`, and PyNaCl for Standard Webhooks' `v1a` Ed25519
signatures (the standardwebhooks library verifies only `v1`) and for
Discord's (as Discord's docs verify), and PagerDuty's verifier as its
docs publish it. Each verifier raises on a delivery it refuses and
returns the parsed event otherwise.

The versions are pinned in requirements.txt next to this file.
"""

import base64
import json
import time


def _lower(headers):
    return {k.lower(): v for k, v in headers.items()}


def standardwebhooks_verifier(secret):
    """Standard Webhooks `v1`: the library decodes the base64 after `whsec_`."""
    from standardwebhooks.webhooks import Webhook

    wh = Webhook(secret)
    return lambda body, headers: wh.verify(body, headers)


def standardwebhooks_raw_verifier(secret):
    """Infrahub: Standard Webhooks' content keyed with the secret's raw
    UTF-8 bytes, which the library takes when handed bytes."""
    from standardwebhooks.webhooks import Webhook

    wh = Webhook(secret.encode("utf-8"))
    return lambda body, headers: wh.verify(body, headers)


def svix_verifier(secret):
    """Svix (Clerk, Resend, ...): svix-id / svix-timestamp / svix-signature."""
    from svix.webhooks import Webhook

    wh = Webhook(secret)

    def verify(body, headers):
        wh.verify(body, headers)
        return json.loads(body)

    return verify


def stripe_verifier(secret):
    """Stripe: `Stripe-Signature: t=...,v1=...`, the libraries' default
    300 s tolerance (construct_event, as Stripe's docs show it)."""
    import stripe

    def verify(body, headers):
        header = _lower(headers).get("stripe-signature")
        return stripe.Webhook.construct_event(body, header, secret)

    return verify


V1A_TOLERANCE_SECS = 300


def pynacl_v1a_verifier(secret):
    """Standard Webhooks `v1a` (spec: "Asymmetric signatures"): Ed25519 over
    "{webhook-id}.{webhook-timestamp}.{body}", base64, among the
    space-separated `v1a,` entries; timestamps within 5 minutes either way.
    PyNaCl does the cryptography. `whsk_` is the 32-byte seed (the sender's
    secret; a receiver holds the `whpk_` public key derived from it)."""
    from nacl.signing import SigningKey, VerifyKey

    prefix, _, b64 = secret.partition("_")
    raw = base64.b64decode(b64)
    if prefix == "whsk":
        key = SigningKey(raw).verify_key
    elif prefix == "whpk":
        key = VerifyKey(raw)
    else:
        raise ValueError("a v1a key starts with whsk_ or whpk_")

    def verify(body, headers):
        h = _lower(headers)
        msg_id, ts, sigs = h["webhook-id"], h["webhook-timestamp"], h["webhook-signature"]
        if abs(time.time() - int(ts)) > V1A_TOLERANCE_SECS:
            raise ValueError("timestamp outside the tolerance")
        signed = f"{msg_id}.{ts}.".encode() + body
        for entry in sigs.split(" "):
            version, _, sig = entry.partition(",")
            if version != "v1a":
                continue
            try:
                key.verify(signed, base64.b64decode(sig))
            except Exception:
                continue
            return json.loads(body)
        raise ValueError("no matching v1a signature")

    return verify


def slack_sdk_verifier(secret):
    """Slack: `slack_sdk.signature.SignatureVerifier` with the signing
    secret, as Slack's docs and Bolt use it (is_valid_request over the raw
    body and the headers; |now - X-Slack-Request-Timestamp| <= 300 s)."""
    from slack_sdk.signature import SignatureVerifier

    verifier = SignatureVerifier(secret)

    def verify(body, headers):
        if not verifier.is_valid_request(body, headers):
            raise ValueError("slack_sdk: invalid request signature")
        return json.loads(body)

    return verify


class _PaddleRequest:
    """What Paddle's Verifier reads of a request (its `Request` protocol:
    `headers.get(...)` and the raw `body`), headers looked up
    case-insensitively as a web framework's are."""

    def __init__(self, body, headers):
        from requests.structures import CaseInsensitiveDict

        self.body = body
        self.headers = CaseInsensitiveDict(headers)


def paddle_verifier(secret):
    """Paddle Billing: paddle-python-sdk's `Verifier` (default
    maximum_variance 5 s) with the notification destination's secret key,
    on the raw request."""
    from paddle_billing.Notifications import Secret, Verifier

    verifier = Verifier()

    def verify(body, headers):
        if not verifier.verify(_PaddleRequest(body, headers), Secret(secret)):
            raise ValueError("paddle: signature refused")
        return json.loads(body)

    return verify


def pynacl_discord_verifier(public_key):
    """Discord, as its docs verify ("Validating Security Request Headers"):
    PyNaCl's VerifyKey of the app's *public* key (hex), then
    verify(timestamp + body, bytes.fromhex(X-Signature-Ed25519)). No
    timestamp window: the docs check none."""
    from nacl.signing import VerifyKey

    key = VerifyKey(bytes.fromhex(public_key))

    def verify(body, headers):
        h = _lower(headers)
        signature, timestamp = h["x-signature-ed25519"], h["x-signature-timestamp"]
        key.verify(timestamp.encode() + body, bytes.fromhex(signature))
        return json.loads(body)

    return verify


def pagerduty_docs_verifier(secret):
    """PagerDuty v3: no PyPI/npm library of PagerDuty's verifies webhooks;
    this is the Python verifier PagerDuty publishes in its developer docs
    ("Verifying Signatures", PagerDuty/developer-docs
    `docs/webhooks/04-Signatures.md`, class `PagerDutyVerifier`), as
    written there: hex HMAC-SHA256 of the body keyed with the secret's
    ASCII bytes, `v1=` prefixed, compared with each comma-separated entry of
    X-PagerDuty-Signature."""
    import hashlib
    import hmac

    class PagerDutyVerifier:
        def __init__(self, key: str, version: str) -> None:
            self.key = key
            self.version = version

        def verify(self, payload, signatures) -> bool:
            byte_key = self.key.encode("ASCII")
            signature = hmac.new(byte_key, payload.encode(), hashlib.sha256).hexdigest()
            signed_version = self.version + "=" + signature
            signatures = signatures.split(",")
            return any(hmac.compare_digest(signed_version, item) for item in signatures)

    pagerduty_verifier = PagerDutyVerifier(secret, "v1")

    def verify(body, headers):
        signatures = _lower(headers)["x-pagerduty-signature"]
        if not pagerduty_verifier.verify(body.decode("utf-8"), signatures):
            raise ValueError("no matching v1 signature")
        return json.loads(body)

    return verify


LIBRARIES = {
    "standardwebhooks": standardwebhooks_verifier,
    "standardwebhooks-raw": standardwebhooks_raw_verifier,
    "svix": svix_verifier,
    "stripe": stripe_verifier,
    "pynacl-v1a": pynacl_v1a_verifier,
    "slack_sdk": slack_sdk_verifier,
    "paddle": paddle_verifier,
    "pynacl-discord": pynacl_discord_verifier,
    "pagerduty-docs": pagerduty_docs_verifier,
}


def verification_error(library):
    """The exception class a library documents for a refused delivery
    (what its docs' examples catch); PyNaCl's v1a wrapper raises ValueError."""
    if library == "stripe":
        import stripe

        return stripe.SignatureVerificationError
    if library in ("pynacl-v1a", "pagerduty-docs"):
        return ValueError
    from standardwebhooks.webhooks import WebhookVerificationError

    return WebhookVerificationError  # svix re-exports it


def verifier(library, secret):
    """A function (body bytes, headers dict) -> event that raises on a
    delivery the library refuses."""
    return LIBRARIES[library](secret)
