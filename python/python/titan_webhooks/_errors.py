"""The one exception a refused delivery raises."""

from __future__ import annotations


class WebhookVerificationError(Exception):
    """A delivery failed verification.

    ``code`` is the titan-webhooks core's stable reason code, for metrics,
    logs and responses to the sender:

    - ``missing_header``: a header the scheme needs is absent;
    - ``malformed_header``: a header is present but cannot be read, or is
      given more than once;
    - ``too_many_signatures``: the signature header lists more than 32
      entries;
    - ``timestamp_out_of_tolerance``: the signed time is too old or too far
      ahead;
    - ``signature_mismatch``: no signature matches any secret;
    - ``invalid_payload``: the delivery is authentic but its body is not
      JSON (``Verifier.verify_json`` only).

    The message says what to look at. Neither it nor ``code`` ever holds a
    secret, an expected signature or the body.

    >>> from titan_webhooks import Verifier, WebhookVerificationError
    >>> try:
    ...     Verifier("github", "secret").verify({}, b"{}")
    ... except WebhookVerificationError as err:
    ...     print(err.code, "-", err)
    missing_header - missing header `x-hub-signature-256`
    """

    code: str

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code

    def __reduce__(self) -> tuple[type[WebhookVerificationError], tuple[str, str]]:
        return (type(self), (str(self), self.code))


WebhookVerificationError.__module__ = "titan_webhooks"
