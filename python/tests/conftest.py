"""Shared fixtures: the core crate's known answers and a few bodies."""

from __future__ import annotations

import json
import pathlib
import time

import pytest

from titan_webhooks import Signer

REPO = pathlib.Path(__file__).resolve().parents[2]
VECTORS = json.loads((REPO / "tests" / "data" / "scheme_vectors.json").read_text())["vectors"]

ONE_MIB = 1 << 20

# Bodies every interoperability test runs with, as text: the pure-Python
# libraries sign and verify `str`.
BODIES = {
    "ascii": '{"id":"evt_1","type":"quota.threshold.reached","data":{"count":8123}}',
    "emoji": '{"text":"hi \U0001f44b, caf\u00e9 \u2014 \u00fcn\u00efc\u00f6d\u00e9 \u2603"}',
    "empty": "",
    "1mib": '{"blob":"' + "a" * (ONE_MIB - 15) + "\U0001f44b" + '"}',
}
assert len(BODIES["1mib"].encode()) == ONE_MIB

# Invalid UTF-8, which the pure-Python libraries cannot take as bytes.
NOT_UTF8 = b'\xff\xfe\x00\x80{"not":"utf8"}\xc3\x28'


@pytest.fixture(params=sorted(BODIES), ids=sorted(BODIES))
def body_text(request: pytest.FixtureRequest) -> str:
    return BODIES[request.param]


def now() -> int:
    return int(time.time())


def eventium_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    stamp = now() if timestamp is None else timestamp
    return Signer("eventium", secret).sign(body, timestamp=stamp)["x-titanvx-signature"]
