"""Verify and sign webhooks with the titan-webhooks Rust core.

Every scheme of the core: Titan, TitanX, Eventium, GitHub, Stripe and
Standard Webhooks. Bodies are bytes, verified byte for byte (emoji and
invalid UTF-8 too); digests are compared in constant time; a verifier
holds several secrets for rotation and checks timestamps in the past and
the future; large bodies are hashed with the GIL released.

Eventium's ``X-TitanVX-Signature`` in one call:

>>> from titan_webhooks import Signer, verify_signature
>>> body = b'{"type":"webhook.test"}'
>>> header = Signer("eventium", "YOUR_ENDPOINT_SECRET").sign(body)["x-titanvx-signature"]
>>> verify_signature("YOUR_ENDPOINT_SECRET", header, body)
True

Any scheme, with the reason for a refusal:

>>> from titan_webhooks import Verifier, WebhookVerificationError
>>> verifier = Verifier("stripe", "whsec_test_secret")
>>> headers = Signer("stripe", "whsec_test_secret").sign(body)
>>> verifier.verify_json(headers, body).payload
{'type': 'webhook.test'}
>>> try:
...     verifier.verify(headers, body + b" ")
... except WebhookVerificationError as err:
...     print(err.code)
signature_mismatch
"""

from titan_webhooks._errors import WebhookVerificationError
from titan_webhooks._native import (
    DEFAULT_TOLERANCE,
    SCHEMES,
    Signer,
    Verified,
    Verifier,
    __version__,
    verify_signature,
)

verify_signature.__module__ = __name__

__all__ = [
    "DEFAULT_TOLERANCE",
    "SCHEMES",
    "Signer",
    "Verified",
    "Verifier",
    "WebhookVerificationError",
    "__version__",
    "verify_signature",
]
