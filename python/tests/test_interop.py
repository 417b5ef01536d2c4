"""Both ways against the official pure-Python libraries: standardwebhooks,
svix and stripe, with ASCII, emoji, empty and 1 MiB bodies."""

from __future__ import annotations

import datetime

import pytest
import standardwebhooks
import stripe
import svix.webhooks

from titan_webhooks import Signer, Verifier, WebhookVerificationError

from conftest import NOT_UTF8, now

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
STRIPE_SECRET = "whsec_test_3f9a1c7e5b2d4f6a8c0e"


def utc(timestamp: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc)


# Standard Webhooks ----------------------------------------------------------


def test_standardwebhooks_signs_titan_webhooks_verifies(body_text: str) -> None:
    stamp, msg_id = now(), "msg_p5jXN8AQM9LWM0D4loKWxJek"
    signature = standardwebhooks.Webhook(WHSEC).sign(msg_id, utc(stamp), body_text)
    headers = {"Webhook-Id": msg_id, "Webhook-Timestamp": str(stamp), "Webhook-Signature": signature}
    verified = Verifier("standard_webhooks", WHSEC).verify(headers, body_text.encode())
    assert (verified.id, verified.timestamp) == (msg_id, stamp)


def test_titan_webhooks_signs_standardwebhooks_verifies(body_text: str) -> None:
    headers = Signer("standard_webhooks", WHSEC).sign(body_text.encode())
    standardwebhooks.Webhook(WHSEC).verify(body_text.encode(), headers, json_parse=False)


def test_standardwebhooks_rotation_both_ways() -> None:
    body = b'{"rotated":true}'
    stamp = now()
    old, new = WHSEC, "whsec_" + "QUJDREVGR0hJSktMTU5PUA=="
    headers = Signer(
        "standard_webhooks", new, previous=old, previous_expires_at=stamp + 3600
    ).sign(body, timestamp=stamp)
    assert headers["webhook-signature"].count("v1,") == 2
    for secret in (old, new):
        standardwebhooks.Webhook(secret).verify(body, headers, json_parse=False)
    # Theirs, verified by a verifier that holds both secrets during rotation.
    signature = standardwebhooks.Webhook(old).sign(headers["webhook-id"], utc(stamp), body.decode())
    theirs = dict(headers, **{"webhook-signature": signature})
    assert Verifier("standard_webhooks", [new, old]).verify(theirs, body).secret_index == 1


def test_standardwebhooks_tampered_is_refused_both_ways() -> None:
    headers = Signer("standard_webhooks", WHSEC).sign(b'{"a":1}')
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(WHSEC).verify(b'{"a":2}', headers, json_parse=False)
    with pytest.raises(WebhookVerificationError) as raised:
        Verifier("standard_webhooks", WHSEC).verify(headers, b'{"a":2}')
    assert raised.value.code == "signature_mismatch"


# Svix -----------------------------------------------------------------------


def test_svix_signs_titan_webhooks_verifies(body_text: str) -> None:
    stamp, msg_id = now(), "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
    signature = svix.webhooks.Webhook(WHSEC).sign(msg_id, utc(stamp), body_text)
    # The core has no preset for Svix's `svix-*` header names yet; Svix
    # sends the same values under the Standard Webhooks names too.
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(stamp), "webhook-signature": signature}
    assert Verifier("standard_webhooks", WHSEC).verify(headers, body_text.encode()).id == msg_id


def test_titan_webhooks_signs_svix_verifies(body_text: str) -> None:
    headers = Signer("standard_webhooks", WHSEC).sign(body_text.encode())
    svix.webhooks.Webhook(WHSEC).verify(body_text.encode(), headers)
    # Under Svix's own header names too.
    branded = {name.replace("webhook-", "svix-"): value for name, value in headers.items()}
    svix.webhooks.Webhook(WHSEC).verify(body_text.encode(), branded)


def test_svix_refuses_what_titan_webhooks_refuses() -> None:
    headers = Signer("standard_webhooks", WHSEC).sign(b"{}", timestamp=now() - 330)
    with pytest.raises(svix.webhooks.WebhookVerificationError):
        svix.webhooks.Webhook(WHSEC).verify(b"{}", headers)
    with pytest.raises(WebhookVerificationError) as raised:
        Verifier("standard_webhooks", WHSEC).verify(headers, b"{}")
    assert raised.value.code == "timestamp_out_of_tolerance"


# Stripe ---------------------------------------------------------------------


def test_stripe_signs_titan_webhooks_verifies(body_text: str) -> None:
    stamp = now()
    header = stripe.WebhookSignature.generate_signature_header(body_text, STRIPE_SECRET, timestamp=stamp)
    verified = Verifier("stripe", STRIPE_SECRET).verify({"Stripe-Signature": header}, body_text.encode())
    assert verified.timestamp == stamp


def test_titan_webhooks_signs_stripe_verifies(body_text: str) -> None:
    headers = Signer("stripe", STRIPE_SECRET).sign(body_text.encode())
    assert stripe.WebhookSignature.verify_header(
        body_text.encode(), headers["stripe-signature"], STRIPE_SECRET, tolerance=300
    )


def test_stripe_rotation_both_ways() -> None:
    body, stamp = b'{"id":"evt_1"}', now()
    old, new = "whsec_old_0123456789", "whsec_new_9876543210"
    header = Signer("stripe", new, previous=old, previous_expires_at=stamp + 60).sign(body)["stripe-signature"]
    for secret in (old, new):
        assert stripe.WebhookSignature.verify_header(body, header, secret, tolerance=300)
    theirs = stripe.WebhookSignature.generate_signature_header(body.decode(), old, timestamp=stamp)
    assert Verifier("stripe", [new, old]).verify({"stripe-signature": theirs}, body).secret_index == 1


def test_stripe_refuses_what_titan_webhooks_refuses() -> None:
    header = Signer("stripe", STRIPE_SECRET).sign(b'{"a":1}')["stripe-signature"]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(b'{"a":2}', header, STRIPE_SECRET, tolerance=300)
    with pytest.raises(WebhookVerificationError) as raised:
        Verifier("stripe", STRIPE_SECRET).verify({"stripe-signature": header}, b'{"a":2}')
    assert raised.value.code == "signature_mismatch"


# Invalid UTF-8 ----------------------------------------------------------------


def test_invalid_utf8_the_pure_python_libraries_cannot_take() -> None:
    """The libraries decode bytes to text first, so an invalid UTF-8 body
    fails there before any signature is checked; it verifies here."""
    headers = Signer("standard_webhooks", WHSEC).sign(NOT_UTF8)
    with pytest.raises(UnicodeDecodeError):
        standardwebhooks.Webhook(WHSEC).verify(NOT_UTF8, headers, json_parse=False)
    with pytest.raises(UnicodeDecodeError):
        svix.webhooks.Webhook(WHSEC).verify(NOT_UTF8, headers)
    assert Verifier("standard_webhooks", WHSEC).verify(headers, NOT_UTF8).id == headers["webhook-id"]

    header = Signer("stripe", STRIPE_SECRET).sign(NOT_UTF8)["stripe-signature"]
    with pytest.raises(UnicodeDecodeError):
        stripe.WebhookSignature.verify_header(NOT_UTF8, header, STRIPE_SECRET, tolerance=300)
    assert Verifier("stripe", STRIPE_SECRET).verify({"stripe-signature": header}, NOT_UTF8).timestamp
