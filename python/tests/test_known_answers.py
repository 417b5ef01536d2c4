"""Every scheme, both ways, against the core crate's known answers
(tests/data/scheme_vectors.json), and invalid UTF-8 against HMACs computed
here with the standard library, independently of the crate."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest

from titan_webhooks import SCHEMES, Signer, Verifier, WebhookVerificationError, verify_signature

from conftest import NOT_UTF8, VECTORS


def vector_id(vector: dict[str, Any]) -> str:
    return f"{vector['scheme']}-{VECTORS.index(vector)}"


def test_every_scheme_has_a_known_answer() -> None:
    assert {vector["scheme"] for vector in VECTORS} == set(SCHEMES)


@pytest.mark.parametrize("vector", VECTORS, ids=vector_id)
def test_known_answer_verifies(vector: dict[str, Any]) -> None:
    body = bytes.fromhex(vector["body_hex"])
    verifier = Verifier(vector["scheme"], vector["secret"])
    verified = verifier.verify(vector["headers"], body, now=vector.get("now") or 0)
    assert verified.secret_index == 0
    assert verified.timestamp == vector.get("timestamp")
    assert verified.id == vector.get("id")


@pytest.mark.parametrize("vector", VECTORS, ids=vector_id)
def test_known_answer_refuses_a_flipped_byte(vector: dict[str, Any]) -> None:
    body = bytearray(bytes.fromhex(vector["body_hex"]))
    if body:
        body[0] ^= 0x01
    else:
        body = bytearray(b" ")
    verifier = Verifier(vector["scheme"], vector["secret"])
    with pytest.raises(WebhookVerificationError) as raised:
        verifier.verify(vector["headers"], bytes(body), now=vector.get("now") or 0)
    assert raised.value.code == "signature_mismatch"


@pytest.mark.parametrize("vector", [v for v in VECTORS if v["canonical"]], ids=vector_id)
def test_signing_reproduces_the_known_answer(vector: dict[str, Any]) -> None:
    body = bytes.fromhex(vector["body_hex"])
    signer = Signer(vector["scheme"], vector["secret"])
    headers = signer.sign(body, id=vector.get("id") or "msg_unused", timestamp=vector.get("timestamp") or 0)
    assert headers == vector["headers"]


def test_verify_signature_takes_the_eventium_known_answer() -> None:
    (vector,) = [v for v in VECTORS if v["scheme"] == "eventium"]
    body = bytes.fromhex(vector["body_hex"])
    header = vector["headers"]["x-titanvx-signature"]
    # Signed in May 2026: stale by now, unless the tolerance reaches back.
    assert verify_signature(vector["secret"], header, body) is False
    assert verify_signature(vector["secret"], header, body, tolerance=10**10) is True
    assert verify_signature(vector["secret"], header, body + b" ", tolerance=10**10) is False


def test_the_invalid_utf8_known_answer() -> None:
    (vector,) = [v for v in VECTORS if v["scheme"] == "titan" and v["body_hex"].startswith("fffe")]
    body = bytes.fromhex(vector["body_hex"])
    with pytest.raises(UnicodeDecodeError):
        body.decode()
    assert Verifier("titan", vector["secret"]).verify(vector["headers"], body).timestamp is None
    assert Signer("titan", vector["secret"]).sign(body) == vector["headers"]


def stdlib_headers(scheme: str, secret: str, body: bytes, timestamp: int, msg_id: str) -> dict[str, str]:
    """What each provider sends, computed with hmac and hashlib alone."""
    if scheme == "standard_webhooks":
        key = base64.b64decode(secret.removeprefix("whsec_"))
        content = f"{msg_id}.{timestamp}.".encode() + body
        digest = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
        return {
            "webhook-signature": f"v1,{digest}",
            "webhook-timestamp": str(timestamp),
            "webhook-id": msg_id,
        }
    key = secret.encode()
    if scheme in ("eventium", "stripe"):
        digest = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        name = "x-titanvx-signature" if scheme == "eventium" else "stripe-signature"
        return {name: f"t={timestamp},v1={digest}"}
    name = {"titan": "x-webhook-signature", "titanx": "x-titanx-signature", "github": "x-hub-signature-256"}[scheme]
    return {name: "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()}


SECRETS = {
    "titan": "your-secret-signing-key",
    "titanx": "whsec_abc123def456",
    "eventium": "YOUR_ENDPOINT_SECRET",
    "github": "It's a Secret to Everybody",
    "stripe": "whsec_test_secret",
    "standard_webhooks": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
}


@pytest.mark.parametrize("scheme", SCHEMES)
def test_invalid_utf8_both_ways_for_every_scheme(scheme: str) -> None:
    timestamp, msg_id = 1_700_000_000, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
    expected = stdlib_headers(scheme, SECRETS[scheme], NOT_UTF8, timestamp, msg_id)
    signed = Signer(scheme, SECRETS[scheme]).sign(NOT_UTF8, id=msg_id, timestamp=timestamp)
    assert signed == expected
    verified = Verifier(scheme, SECRETS[scheme]).verify(expected, NOT_UTF8, now=timestamp + 1)
    assert verified.secret_index == 0
    # One bit off in the invalid bytes is refused.
    tampered = NOT_UTF8[:1] + bytes([NOT_UTF8[1] ^ 1]) + NOT_UTF8[2:]
    with pytest.raises(WebhookVerificationError, match="no signature matched"):
        Verifier(scheme, SECRETS[scheme]).verify(expected, tampered, now=timestamp + 1)
