"""Bad input gives a Python exception with a clear message, never a crash
of the interpreter: None, an int body, a 1 MiB header, a secret that is not
valid whsec_, and more."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from titan_webhooks import SCHEMES, Signer, Verifier, WebhookVerificationError

from conftest import now

SECRETS = {scheme: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" for scheme in SCHEMES}
BODY = b'{"id":"evt_1"}'
MIB = 1 << 20


def raises(error: type[Exception], message: str, call: Any, *args: Any, **kwargs: Any) -> BaseException:
    with pytest.raises(error) as raised:
        call(*args, **kwargs)
    assert message in str(raised.value), str(raised.value)
    return raised.value


@pytest.mark.parametrize("scheme", SCHEMES)
def test_none_anywhere_is_a_type_error(scheme: str) -> None:
    verifier = Verifier(scheme, SECRETS[scheme])
    headers = Signer(scheme, SECRETS[scheme]).sign(BODY)
    raises(TypeError, "secret must be str or bytes, or a list of them for rotation, not NoneType", Verifier, scheme, None)
    raises(TypeError, "secret must be str or bytes, not NoneType", Verifier, scheme, [SECRETS[scheme], None])
    raises(TypeError, "scheme must be str, not NoneType", Verifier, None, SECRETS[scheme])
    raises(TypeError, "scheme must be str, not NoneType", Signer, None, SECRETS[scheme])
    raises(TypeError, "body must be bytes or str (the raw request body), not NoneType", verifier.verify, headers, None)
    raises(TypeError, "headers must be a mapping of header names to values", verifier.verify, None, BODY)
    raises(TypeError, "secret must be str or bytes, not NoneType", Signer, scheme, None)
    raises(TypeError, "body must be bytes or str (the raw request body), not NoneType", Signer(scheme, SECRETS[scheme]).sign, None)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_an_int_body_is_a_type_error(scheme: str) -> None:
    verifier = Verifier(scheme, SECRETS[scheme])
    headers = Signer(scheme, SECRETS[scheme]).sign(BODY)
    for body in (42, 4.2, ["a"], {"a": 1}, object()):
        raises(TypeError, "body must be bytes or str (the raw request body), not ", verifier.verify, headers, body)
        raises(TypeError, "body must be bytes or str", verifier.verify_json, headers, body)
        raises(TypeError, "body must be bytes or str", Signer(scheme, SECRETS[scheme]).sign, body)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_header_of_1_mib_is_refused_with_a_code(scheme: str) -> None:
    verifier = Verifier(scheme, SECRETS[scheme])
    signed = Signer(scheme, SECRETS[scheme]).sign(BODY)
    name = verifier.header_names[0]
    for value in (
        "a" * MIB,
        "sha256=" + "0" * MIB,
        "t=1700000000,v1=" + "f" * MIB,
        "v1,AAAA " * (MIB // 8),
        "t=1,v1=00," * (MIB // 10),
        "\U0001f44b" * (MIB // 4),
    ):
        with pytest.raises(WebhookVerificationError) as raised:
            verifier.verify(dict(signed, **{name: value}), BODY)
        refused = raised.value
        assert refused.code in {
            "malformed_header", "too_many_signatures", "signature_mismatch", "timestamp_out_of_tolerance"
        }, refused.code
        assert str(refused).startswith(("header `" + name + "`", "no signature matched", "timestamp is ")), str(refused)
        assert len(str(refused)) < 120
    # A megabyte of other headers, and a megabyte-long name, are ignored.
    noisy = dict(signed, **{"x-noise": "n" * MIB, "x-" + "n" * MIB: "v"})
    assert verifier.verify(noisy, BODY).secret_index == 0


def test_timestamp_and_id_headers_of_1_mib() -> None:
    signer = Signer("standard_webhooks", SECRETS["standard_webhooks"])
    verifier = Verifier("standard_webhooks", SECRETS["standard_webhooks"])
    headers = signer.sign(BODY)
    for name, problem in (("webhook-timestamp", "not a valid unix time"), ("webhook-id", "message id is not valid")):
        err = raises(WebhookVerificationError, problem, verifier.verify, dict(headers, **{name: "9" * MIB}), BODY)
        assert getattr(err, "code") == "malformed_header"


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("whsec_not base64!", "invalid secret: the secret is not standard base64 (with or without `whsec_`)"),
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwM", "invalid secret: the secret is not standard base64"),
        ("whsec_MfKQ9r8GKYqrTwjUPD8-LPZIo2LaLaSw", "invalid secret: the secret is not standard base64"),
        ("whsec_AAAAAAAAAAAAAAAA", "invalid secret: the decoded secret is 12 bytes, shorter than the minimum of 16"),
        ("AAAAAAAAAAAAAAAA", "invalid secret: the decoded secret is 12 bytes, shorter than the minimum of 16"),
        ("whsec_", "invalid secret: the decoded secret is 0 bytes, shorter than the minimum of 16"),
        ("", "invalid secret: the decoded secret is 0 bytes, shorter than the minimum of 16"),
        ("\udcff", "invalid secret: it is a str with no UTF-8 encoding"),
    ],
)
def test_a_secret_that_is_not_valid_whsec(secret: str, message: str) -> None:
    for build in (Verifier, Signer):
        err = raises(ValueError, message, build, "standard_webhooks", secret)
        if secret[6:]:
            assert secret[6:] not in str(err)
    if "UTF-8" not in message:
        assert "takes the `whsec_<base64>` text the sender shows, or the decoded key as bytes" in str(
            raises(ValueError, message, Verifier, "standard_webhooks", secret)
        )


def test_a_whsec_secret_may_lack_its_prefix_and_padding() -> None:
    # As the standardwebhooks and svix packages read it.
    headers = Signer("standard_webhooks", "whsec_AQIDBAUGBwgJCgsMDQ4PEBE=").sign(BODY)
    for secret in ("AQIDBAUGBwgJCgsMDQ4PEBE", "whsec_AQIDBAUGBwgJCgsMDQ4PEBE", "AQIDBAUGBwgJCgsMDQ4PEBE="):
        assert Verifier("standard_webhooks", secret).verify(headers, BODY).secret_index == 0
    with pytest.raises(WebhookVerificationError):
        Verifier("standard_webhooks", "BQIDBAUGBwgJCgsMDQ4PEBE").verify(headers, BODY)


def test_other_wrong_arguments() -> None:
    raises(ValueError, "unknown scheme 'svix'; expected one of: titan, titanx, eventium, github, stripe, standard_webhooks", Verifier, "svix", "k")
    raises(ValueError, "unknown scheme 'xxxxxxxx", Verifier, "x" * MIB, "k")
    raises(ValueError, "at least one secret is needed", Verifier, "titan", [])
    raises(TypeError, "secret must be str or bytes, or a list of them for rotation, not int", Verifier, "titan", 42)
    raises(TypeError, "secret must be str or bytes, or a list of them for rotation, not set", Verifier, "titan", {"k"})
    raises(ValueError, "past_tolerance must not be negative, got -5", Verifier, "stripe", "k", past_tolerance=-5)
    raises(TypeError, "future_tolerance must be an int number of seconds or a datetime.timedelta, not str", Verifier, "stripe", "k", future_tolerance="30")
    raises(ValueError, "tolerance must not be negative", Verifier, "stripe", "k", tolerance=datetime.timedelta(days=-1))
    assert Verifier("stripe", "k", tolerance=10**40).past_tolerance == 2**64 - 1
    verifier = Verifier("stripe", "k")
    headers = Signer("stripe", "k").sign(BODY)
    raises(ValueError, "now must not be negative, got -1", verifier.verify, headers, BODY, now=-1)
    raises(TypeError, "now must be an int of unix seconds or a datetime.datetime, not float", verifier.verify, headers, BODY, now=1.5)
    raises(TypeError, "headers must be a mapping of header names to values", verifier.verify, 42, BODY)
    raises(TypeError, "headers must be a mapping of header names to values", verifier.verify, "stripe-signature", BODY)
    raises(TypeError, "each header must be a (name, value) pair, not str", verifier.verify, ["stripe-signature"], BODY)
    raises(TypeError, "header `stripe-signature` must be str or bytes, not int", verifier.verify, {"Stripe-Signature": 42}, BODY)
    raises(TypeError, "header `stripe-signature` must be str or bytes, not list", verifier.verify, {"stripe-signature": [["x"]]}, BODY)
    # Headers this scheme does not read may hold anything.
    anything: dict[Any, Any] = {**headers, "x-other": 42, 7: "seven"}
    assert verifier.verify(anything, BODY).timestamp
    raises(ValueError, "body is a str with no UTF-8 encoding", verifier.verify, headers, "\ud800")


def test_signer_arguments() -> None:
    signer = Signer("standard_webhooks", SECRETS["standard_webhooks"])
    for bad_id in ("msg.1", "", "a b", "\u00e9", "a" * 257):
        raises(ValueError, "invalid id: the message id must be 1 to 256 visible ASCII characters without `.`", signer.sign, BODY, id=bad_id)
    raises(ValueError, "timestamp must not be negative", signer.sign, BODY, timestamp=-1)
    raises(ValueError, "previous needs previous_expires_at", Signer, "stripe", "k", previous="old")
    raises(ValueError, "previous_expires_at needs previous", Signer, "stripe", "k", previous_expires_at=now())
    raises(ValueError, "invalid secret: the secret is empty", Signer, "stripe", "k", previous="", previous_expires_at=now())
    raises(ValueError, "previous_expires_at must not be negative", Signer, "stripe", "k", previous="o", previous_expires_at=-1)
    aware = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
    rotating = Signer("stripe", "new", previous="old", previous_expires_at=aware)
    assert rotating.sign(BODY, timestamp=aware - datetime.timedelta(seconds=1))["stripe-signature"].count("v1=") == 2
    assert rotating.sign(BODY, timestamp=aware)["stripe-signature"].count("v1=") == 1
    assert Signer("stripe", "k").sign(BODY, timestamp=2**64 + 5)["stripe-signature"].startswith("t=18446744073709551615,")
