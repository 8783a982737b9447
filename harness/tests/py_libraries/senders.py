"""Webhook verification as the senders' own Python libraries do it.

hookstorm's tests use these to judge its signed deliveries with the code
receivers in the wild run: `standardwebhooks` (the Standard Webhooks
reference library), `svix`, `stripe`, and PyNaCl for Standard Webhooks'
`v1a` Ed25519 signatures (the standardwebhooks library verifies only
`v1`). Each verifier raises on a delivery it refuses and returns the
parsed event otherwise.

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
