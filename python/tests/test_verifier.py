"""`Verifier`: every scheme, any headers mapping, rotation, tolerances,
`verify_json`, and the one exception with the core's stable codes."""

from __future__ import annotations

import base64
import datetime
import pickle
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from starlette.datastructures import Headers as StarletteHeaders
from werkzeug.datastructures import EnvironHeaders, Headers as WerkzeugHeaders

from titan_webhooks import SCHEMES, Signer, Verified, Verifier, WebhookVerificationError

from conftest import NOT_UTF8, now

SECRETS = {
    "titan": "titan-hmac-key",
    "titanx": "whsec_titanx_key",
    "eventium": "YOUR_ENDPOINT_SECRET",
    "github": "It's a Secret to Everybody",
    "stripe": "whsec_test_secret",
    "standard_webhooks": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
}
TIMESTAMPED = {"eventium", "stripe", "standard_webhooks"}
BODY = b'{"id":"evt_1","type":"quota.threshold.reached","data":{"count":8123}}'


def rejected(verifier: Verifier, headers: object, body: object = BODY, **kwargs: object) -> WebhookVerificationError:
    with pytest.raises(WebhookVerificationError) as raised:
        verifier.verify(headers, body, **kwargs)  # type: ignore[arg-type]
    return raised.value


@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_scheme_round_trips(scheme: str) -> None:
    headers = Signer(scheme, SECRETS[scheme]).sign(BODY)
    verified = Verifier(scheme, SECRETS[scheme]).verify(headers, BODY)
    assert isinstance(verified, Verified)
    assert verified.secret_index == 0
    assert (verified.timestamp is not None) == (scheme in TIMESTAMPED)
    assert (verified.id is not None) == (scheme == "standard_webhooks")
    if verified.id is not None:
        assert verified.id == headers["webhook-id"]
    assert verified.payload is None
    assert len(verified.replay_fingerprint) == 32


@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_scheme_refuses_with_a_code(scheme: str) -> None:
    verifier = Verifier(scheme, SECRETS[scheme])
    headers = Signer(scheme, SECRETS[scheme]).sign(BODY)
    assert rejected(verifier, headers, BODY + b"!").code == "signature_mismatch"
    assert rejected(verifier, {}).code == "missing_header"
    other = Signer(scheme, "whsec_" + "QUJDREVGR0hJSktMTU5PUA==").sign(BODY)
    assert rejected(verifier, other).code == "signature_mismatch"
    signature = verifier.header_names[0]
    assert rejected(verifier, dict(headers, **{signature: "v1,,t=="})).code == "malformed_header"
    many = {"eventium": "t=1," + "v1=00," * 40, "stripe": "t=1," + "v1=00," * 40}.get(
        scheme, "v1,AAAA " * 40 if scheme == "standard_webhooks" else None
    )
    if many is not None:
        assert rejected(verifier, dict(headers, **{signature: many})).code == "too_many_signatures"


@pytest.mark.parametrize("scheme", sorted(TIMESTAMPED))
def test_past_and_future_tolerances_apart(scheme: str) -> None:
    signer = Signer(scheme, SECRETS[scheme])
    verifier = Verifier(scheme, SECRETS[scheme], past_tolerance=60, future_tolerance=5)
    assert (verifier.past_tolerance, verifier.future_tolerance) == (60, 5)
    assert verifier.verify(signer.sign(BODY, timestamp=now() - 50), BODY).timestamp
    err = rejected(verifier, signer.sign(BODY, timestamp=now() - 120))
    assert err.code == "timestamp_out_of_tolerance"
    assert "in the past, beyond the tolerance of 60 s" in str(err)
    err = rejected(verifier, signer.sign(BODY, timestamp=now() + 120))
    assert err.code == "timestamp_out_of_tolerance"
    assert "in the future, beyond the tolerance of 5 s" in str(err)
    # `now` stands in for the clock, as an int or a datetime.
    old = signer.sign(BODY, timestamp=1_700_000_000)
    assert verifier.verify(old, BODY, now=1_700_000_060).timestamp == 1_700_000_000
    moment = datetime.datetime(2023, 11, 14, 22, 14, 20, tzinfo=datetime.timezone.utc)
    assert verifier.verify(old, BODY, now=moment).timestamp == 1_700_000_000
    both = Verifier(scheme, SECRETS[scheme], tolerance=datetime.timedelta(hours=1))
    assert (both.past_tolerance, both.future_tolerance) == (3600, 3600)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_rotation_accepts_every_secret_and_says_which(scheme: str) -> None:
    old, new = SECRETS[scheme], "whsec_" + "bmV3LXNlY3JldC1rZXktMTIzNA=="
    verifier = Verifier(scheme, [new, old])
    assert verifier.verify(Signer(scheme, new).sign(BODY), BODY).secret_index == 0
    assert verifier.verify(Signer(scheme, old).sign(BODY), BODY).secret_index == 1
    assert Verifier(scheme, (old,)).verify(Signer(scheme, old).sign(BODY), BODY).secret_index == 0


def test_secrets_are_read_as_each_scheme_reads_them() -> None:
    text = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    key = base64.b64decode(text.removeprefix("whsec_"))
    # Standard Webhooks decodes the base64; the bytes are the key itself.
    headers = Signer("standard_webhooks", text).sign(BODY)
    assert Verifier("standard_webhooks", key).verify(headers, BODY)
    # Stripe keys on the whole text, prefix included.
    headers = Signer("stripe", text).sign(BODY)
    assert Verifier("stripe", text.encode()).verify(headers, BODY)
    with pytest.raises(WebhookVerificationError):
        Verifier("stripe", key).verify(headers, BODY)


class PlainMapping(Mapping[str, str]):
    def __init__(self, items: dict[str, str]) -> None:
        self._items = items

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


def header_forms(headers: dict[str, str]) -> dict[str, Any]:
    title = {name.title(): value for name, value in headers.items()}
    upper = {name.upper(): value for name, value in headers.items()}
    environ = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
    return {
        "dict": headers,
        "dict-title-case": title,
        "dict-upper-case": upper,
        "dict-bytes": {name.encode(): value.encode() for name, value in headers.items()},
        "dict-list-values": {name: [value] for name, value in title.items()},
        "asgi-raw-pairs": [(name.encode(), value.encode()) for name, value in headers.items()],
        "tuple-pairs": tuple(title.items()),
        "starlette": StarletteHeaders(headers=title),
        "werkzeug-headers": WerkzeugHeaders(title),
        "werkzeug-environ": EnvironHeaders(environ),
        "custom-mapping": PlainMapping(title),
        "with-others": {"Content-Type": "application/json", **title, "User-Agent": "x"},
    }


@pytest.mark.parametrize("scheme", ["stripe", "standard_webhooks"])
@pytest.mark.parametrize("form", list(header_forms({"a": "b"})))
def test_any_mapping_of_headers_ignoring_case(scheme: str, form: str) -> None:
    headers = Signer(scheme, SECRETS[scheme]).sign(BODY)
    verified = Verifier(scheme, SECRETS[scheme]).verify(header_forms(headers)[form], BODY)
    assert verified.timestamp is not None


def test_a_header_given_twice_is_malformed() -> None:
    headers = Signer("stripe", SECRETS["stripe"]).sign(BODY)
    value = headers["stripe-signature"]
    verifier = Verifier("stripe", SECRETS["stripe"])
    for twice in (
        {"stripe-signature": value, "Stripe-Signature": value},
        [("stripe-signature", value), ("STRIPE-SIGNATURE", value)],
        {"stripe-signature": [value, value]},
        StarletteHeaders(raw=[(b"stripe-signature", value.encode())] * 2),
    ):
        err = rejected(verifier, twice)
        assert err.code == "malformed_header"
        assert str(err) == "header `stripe-signature` is malformed: the header occurs more than once"


def test_none_values_are_absent_headers() -> None:
    err = rejected(Verifier("github", "k"), {"X-Hub-Signature-256": None})
    assert (err.code, str(err)) == ("missing_header", "missing header `x-hub-signature-256`")


def test_verify_json_parses_only_after_verifying() -> None:
    verifier = Verifier("titan", SECRETS["titan"])
    signer = Signer("titan", SECRETS["titan"])
    verified = verifier.verify_json(signer.sign(BODY), BODY)
    assert verified.payload == {"id": "evt_1", "type": "quota.threshold.reached", "data": {"count": 8123}}
    assert verified.secret_index == 0
    # Not authentic: refused as such, the body never parsed.
    err = rejected_json(verifier, signer.sign(BODY), b"{not json")
    assert err.code == "signature_mismatch"
    # Authentic but not JSON.
    for body, message in (
        (b"{not json", "payload is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
        (b'{"a":1} trailing', "payload is not valid JSON: Extra data at line 1 column 9"),
        (b"", "payload is not valid JSON: Expecting value at line 1 column 1"),
        (NOT_UTF8, "payload is not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "payload is not valid JSON"),
    ):
        err = rejected_json(verifier, signer.sign(body), body)
        assert err.code == "invalid_payload"
        assert str(err).startswith(message)
        assert "\\x" not in str(err) and "trailing" not in str(err)


def rejected_json(verifier: Verifier, headers: object, body: bytes) -> WebhookVerificationError:
    with pytest.raises(WebhookVerificationError) as raised:
        verifier.verify_json(headers, body)  # type: ignore[arg-type]
    return raised.value


def test_verify_json_takes_text_and_big_numbers_like_json_loads() -> None:
    body = '{"n": 123456789012345678901234567890, "s": "caf\u00e9 \U0001f44b"}'
    headers = Signer("github", "k").sign(body)
    payload = Verifier("github", "k").verify_json(headers, body).payload
    assert payload == {"n": 123456789012345678901234567890, "s": "caf\u00e9 \U0001f44b"}


def test_the_exception_carries_the_code_and_pickles() -> None:
    err = rejected(Verifier("github", "k"), {})
    assert isinstance(err, Exception) and not isinstance(err, ValueError)
    assert type(err).__module__ == "titan_webhooks"
    copy = pickle.loads(pickle.dumps(err))
    assert (type(copy), str(copy), copy.code) == (WebhookVerificationError, str(err), "missing_header")
    assert WebhookVerificationError("message", "signature_mismatch").code == "signature_mismatch"


def test_reprs_show_no_secret() -> None:
    secret = "sUp3r-s3cr3t-v4lue"
    verifier = Verifier("eventium", [secret, secret + "2"], past_tolerance=300, future_tolerance=30)
    assert repr(verifier) == "Verifier(scheme='eventium', secrets=2, past_tolerance=300, future_tolerance=30)"
    signer = Signer("eventium", secret, previous=secret + "0", previous_expires_at=now() + 60)
    assert repr(signer) == "Signer(scheme='eventium', rotating=True)"
    assert repr(Signer("titan", secret, previous="x", previous_expires_at=now() + 60)) == (
        "Signer(scheme='titan', rotating=False)"
    )
    verified = verifier.verify(signer.sign(BODY, timestamp=1_700_000_000), BODY, now=1_700_000_000)
    assert repr(verified) == "Verified(timestamp=1700000000, id=None, secret_index=0)"
    for shown in (repr(verifier), repr(signer), repr(verified), str(verifier), str(signer)):
        assert secret not in shown


def test_no_message_shows_a_secret_an_expected_signature_or_the_body() -> None:
    secret = "sUp3r-s3cr3t-v4lue"
    body = b'{"private":"b0dy-c0nt3nt"}'
    expected = Signer("eventium", secret).sign(body, timestamp=now())["x-titanvx-signature"]
    digest = expected.split("v1=")[1]
    verifier = Verifier("eventium", secret)
    messages = []
    for headers, sent in (
        ({"x-titanvx-signature": expected}, body + b" "),
        ({"x-titanvx-signature": "t=1,v1=" + "0" * 64}, body),
        ({"x-titanvx-signature": expected.replace(digest, "zz")}, body),
        ({}, body),
    ):
        messages.append(str(rejected(verifier, headers, sent)))
    for bad in ("", None, 42):
        with pytest.raises((TypeError, ValueError)) as raised:
            Verifier("eventium", bad)  # type: ignore[arg-type]
        messages.append(str(raised.value))
    for shown in messages:
        assert secret not in shown and digest not in shown and "b0dy" not in shown, shown


def test_header_names() -> None:
    assert Verifier("titan", "k").header_names == ("x-webhook-signature",)
    assert Verifier("eventium", "k").header_names == ("x-titanvx-signature",)
    assert Verifier("github", "k").scheme == "github"
    assert Verifier("standard-webhooks", b"k").scheme == "standard_webhooks"


def test_large_bodies_and_many_threads_agree() -> None:
    from concurrent.futures import ThreadPoolExecutor

    verifier = Verifier("stripe", SECRETS["stripe"])
    signer = Signer("stripe", SECRETS["stripe"])
    bodies = [bytes([i]) * (1 << 18) + NOT_UTF8 for i in range(16)]
    signed = [(signer.sign(body), body) for body in bodies]

    def check(index: int) -> bool:
        headers, body = signed[index]
        other_headers, _ = signed[(index + 1) % len(signed)]
        ok = verifier.verify(headers, body).timestamp is not None
        try:
            verifier.verify(other_headers, body)
        except WebhookVerificationError as err:
            return ok and err.code == "signature_mismatch"
        return False

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(check, range(len(signed))))
