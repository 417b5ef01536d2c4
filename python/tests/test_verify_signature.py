"""`verify_signature`: the seed's call, `True` or `False`, never a crash."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from titan_webhooks import Signer, verify_signature

from conftest import NOT_UTF8, eventium_header, now

SECRET = "YOUR_ENDPOINT_SECRET"
BODY = b'{"id":"0c3b1d5b","type":"quota.threshold.reached"}'


def test_a_fresh_delivery_passes_as_bytes_or_str() -> None:
    header = eventium_header(SECRET, BODY)
    assert verify_signature(SECRET, header, BODY) is True
    assert verify_signature(SECRET, header, BODY.decode()) is True
    assert verify_signature(SECRET, header, bytearray(BODY)) is True
    assert verify_signature(SECRET, header, memoryview(BODY)) is True
    assert verify_signature(SECRET.encode(), header, BODY) is True
    assert verify_signature(SECRET, header.encode(), BODY) is True


def test_wrong_tampered_or_unsigned_is_false() -> None:
    header = eventium_header(SECRET, BODY)
    assert verify_signature("another-secret", header, BODY) is False
    assert verify_signature(SECRET, header, BODY + b" ") is False
    assert verify_signature(SECRET, header.replace("v1=", "v0="), BODY) is False
    assert verify_signature(SECRET, "", BODY) is False
    assert verify_signature(SECRET, None, BODY) is False
    assert verify_signature(SECRET, "garbage", BODY) is False
    assert verify_signature(SECRET, "t=notanumber,v1=00", BODY) is False
    assert verify_signature(SECRET, "t=1,v1=" + "0" * 64, BODY) is False


def test_stale_and_future_deliveries_are_false_both_ways() -> None:
    for skew in (-330, 330):
        header = eventium_header(SECRET, BODY, now() + skew)
        assert verify_signature(SECRET, header, BODY) is False
        assert verify_signature(SECRET, header, BODY, tolerance=600) is True
        assert verify_signature(SECRET, header, BODY, tolerance=datetime.timedelta(minutes=10)) is True
    header = eventium_header(SECRET, BODY, now() - 100)
    assert verify_signature(SECRET, header, BODY, tolerance=60) is False
    assert verify_signature(SECRET, header, BODY, tolerance=0) is False


def test_every_v1_entry_is_checked_for_rotation() -> None:
    stamp = now()
    header = Signer("eventium", "new-secret", previous="old-secret", previous_expires_at=stamp + 60).sign(
        BODY, timestamp=stamp
    )["x-titanvx-signature"]
    assert header.count(",v1=") == 2
    assert verify_signature("new-secret", header, BODY) is True
    assert verify_signature("old-secret", header, BODY) is True
    assert verify_signature("third-secret", header, BODY) is False


def test_invalid_utf8_and_emoji_bodies_verify_byte_for_byte() -> None:
    for body in (NOT_UTF8, "hi \U0001f44b".encode(), b""):
        header = eventium_header(SECRET, body)
        assert verify_signature(SECRET, header, body) is True
        assert verify_signature(SECRET, header, body + b"\x00") is False


def test_a_huge_or_hostile_header_is_false() -> None:
    huge = "t=" + str(now()) + ",v1=" + "a" * (1 << 20)
    assert verify_signature(SECRET, huge, BODY) is False
    assert verify_signature(SECRET, "v1=aa," * 200_000, BODY) is False
    assert verify_signature(SECRET, "t=" + "9" * 5000 + ",v1=" + "a" * 64, BODY) is False
    assert verify_signature(SECRET, "t=18446744073709551616,v1=" + "a" * 64, BODY) is False
    assert verify_signature(SECRET, "t=-1,v1=" + "a" * 64, BODY) is False
    assert verify_signature(SECRET, "t=\u00e9,v1=\U0001f44b", BODY) is False
    assert verify_signature(SECRET, b"t=\xff\xfe,v1=\x80", BODY) is False


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        ((None, "t=1,v1=00", BODY), {}, TypeError, "secret must be str or bytes, not NoneType"),
        ((42, "t=1,v1=00", BODY), {}, TypeError, "secret must be str or bytes, not int"),
        (("", "t=1,v1=00", BODY), {}, ValueError, "invalid secret: the secret is empty"),
        ((b"", "t=1,v1=00", BODY), {}, ValueError, "invalid secret: the secret is empty"),
        ((SECRET, "t=1,v1=00", None), {}, TypeError, "body must be bytes or str (the raw request body), not NoneType"),
        ((SECRET, "t=1,v1=00", 42), {}, TypeError, "body must be bytes or str (the raw request body), not int"),
        ((SECRET, "t=1,v1=00", {"a": 1}), {}, TypeError, "body must be bytes or str (the raw request body), not dict"),
        ((SECRET, 42, BODY), {}, TypeError, "signature_header must be str or bytes (or None when the header is missing), not int"),
        ((SECRET, "t=1,v1=00", "\udcff"), {}, ValueError, "body is a str with no UTF-8 encoding"),
        ((SECRET, "t=1,v1=00", BODY), {"tolerance": -1}, ValueError, "tolerance must not be negative, got -1"),
        ((SECRET, "t=1,v1=00", BODY), {"tolerance": 1.5}, TypeError, "tolerance must be an int number of seconds or a datetime.timedelta, not float"),
        ((SECRET, "t=1,v1=00", BODY), {"tolerance": True}, TypeError, "not bool"),
        ((SECRET, "t=1,v1=00", BODY), {"tolerance": datetime.timedelta(seconds=-1)}, ValueError, "tolerance must not be negative"),
    ],
)
def test_calls_that_can_never_be_right_raise(
    args: tuple[Any, Any, Any], kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as raised:
        verify_signature(*args, **kwargs)
    assert message in str(raised.value)
    # Raised even when the header is missing: the call is wrong whatever arrives.
    if args[1] == "t=1,v1=00":
        with pytest.raises(error):
            verify_signature(args[0], None, args[2], **kwargs)


def test_a_huge_tolerance_means_any_time() -> None:
    header = eventium_header(SECRET, BODY, 0)
    assert verify_signature(SECRET, header, BODY, tolerance=10**30) is True


def test_the_call_shape_is_the_seeds() -> None:
    with pytest.raises(TypeError):
        verify_signature(SECRET, "t=1,v1=00", BODY, 300)  # type: ignore[call-arg]
    assert verify_signature(secret=SECRET, signature_header=None, body=BODY, tolerance=300) is False
