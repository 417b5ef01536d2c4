"""verify at 1 KiB and 1 MiB: titan_webhooks against standardwebhooks and
stripe, with a bare standard-library HMAC as the floor, in one run.

Run by `python/ci.sh bench`; `ratios.py` turns the results into the table
in python/README.md. Nothing here asserts a time.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

import pytest
import standardwebhooks
import stripe
from pytest_benchmark.fixture import BenchmarkFixture

from titan_webhooks import Signer, Verifier, verify_signature

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
STRIPE_SECRET = "whsec_test_3f9a1c7e5b2d4f6a8c0e"
EVENTIUM_SECRET = "YOUR_ENDPOINT_SECRET"
SIZES = {"1 KiB": 1 << 10, "1 MiB": 1 << 20}

# What a receiver's framework hands over besides the signature headers.
REQUEST_HEADERS = {
    "host": "receiver.example",
    "user-agent": "Webhooks/1.0",
    "content-type": "application/json",
    "accept": "*/*",
    "accept-encoding": "gzip",
    "x-forwarded-for": "203.0.113.7",
    "x-request-id": "4f2c0a1e-7d3b-4c8e-9a6f-1b2c3d4e5f60",
}


def body_of(size: int) -> bytes:
    prefix = b'{"type":"quota.threshold.reached","data":"'
    return prefix + b"x" * (size - len(prefix) - 2) + b'"}'


def cases(size: int) -> dict[str, Callable[[], object]]:
    body = body_of(size)
    assert len(body) == size
    stamp = int(time.time())

    standard = dict(REQUEST_HEADERS, **Signer("standard_webhooks", WHSEC).sign(body, timestamp=stamp))
    standard_verifier = Verifier("standard_webhooks", WHSEC)
    standard_theirs = standardwebhooks.Webhook(WHSEC)

    stripe_header = Signer("stripe", STRIPE_SECRET).sign(body, timestamp=stamp)["stripe-signature"]
    stripe_headers = dict(REQUEST_HEADERS, **{"stripe-signature": stripe_header})
    stripe_verifier = Verifier("stripe", STRIPE_SECRET)

    eventium_header = Signer("eventium", EVENTIUM_SECRET).sign(body, timestamp=stamp)["x-titanvx-signature"]

    key = EVENTIUM_SECRET.encode()
    expected = hmac.new(key, body, hashlib.sha256).digest()

    return {
        "standard_webhooks: titan_webhooks.Verifier.verify": lambda: standard_verifier.verify(standard, body),
        "standard_webhooks: standardwebhooks.Webhook.verify": lambda: standard_theirs.verify(
            body, standard, json_parse=False
        ),
        "stripe: titan_webhooks.Verifier.verify": lambda: stripe_verifier.verify(stripe_headers, body),
        "stripe: stripe.WebhookSignature.verify_header": lambda: stripe.WebhookSignature.verify_header(
            body, stripe_header, STRIPE_SECRET, tolerance=300
        ),
        "eventium: titan_webhooks.verify_signature": lambda: verify_signature(
            EVENTIUM_SECRET, eventium_header, body
        ),
        "floor: hmac.new + hmac.compare_digest": lambda: hmac.compare_digest(
            hmac.new(key, body, hashlib.sha256).digest(), expected
        ),
    }


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("case", list(cases(1024)))
def test_verify(benchmark: BenchmarkFixture, size: str, case: str) -> None:
    benchmark.group = f"verify, {size} body"
    benchmark.name = case
    call = cases(SIZES[size])[case]
    result = benchmark(call)
    assert result is not False
