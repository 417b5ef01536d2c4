"""Type stubs for titan_webhooks, checked against the runtime by stubtest."""

import datetime
from collections.abc import Iterable, Sequence
from typing import Any, Final, Protocol, Union, final

from typing_extensions import Self, TypeAlias

from titan_webhooks._errors import WebhookVerificationError as WebhookVerificationError

__version__: Final[str]
DEFAULT_TOLERANCE: Final[int]
SCHEMES: Final[tuple[str, ...]]

_Body: TypeAlias = Union[bytes, bytearray, memoryview, str]
"""A raw request body; a ``str`` is encoded as UTF-8."""
_Secret: TypeAlias = Union[str, bytes, bytearray]
"""A secret as the provider shows it (``str``), or the key itself (``bytes``)."""
_HeaderValue: TypeAlias = Union[str, bytes, Sequence[Union[str, bytes]], None]
"""A header's value; a sequence holds the values of a repeated header."""

class _HeaderItems(Protocol):
    def items(self) -> Iterable[tuple[Union[str, bytes], _HeaderValue]]: ...

_Headers: TypeAlias = Union[_HeaderItems, Iterable[tuple[Union[str, bytes], _HeaderValue]]]
"""A request's headers: any mapping (names ignore case) or (name, value) pairs."""
_Seconds: TypeAlias = Union[int, datetime.timedelta]
_UnixTime: TypeAlias = Union[int, datetime.datetime]

def verify_signature(
    secret: _Secret,
    signature_header: Union[str, bytes, None],
    body: _Body,
    *,
    tolerance: _Seconds = 300,
) -> bool:
    """Checks an Eventium delivery: ``True`` if it is authentic and fresh."""

@final
class Verified:
    """What a successful ``Verifier.verify`` or ``verify_json`` learned."""

    @property
    def timestamp(self) -> Union[int, None]:
        """The signed unix timestamp, or ``None`` when the scheme signs none."""
    @property
    def id(self) -> Union[str, None]:
        """The signed message id, or ``None`` when the scheme signs none."""
    @property
    def secret_index(self) -> int:
        """Which secret matched: 0 for the first given, then in order."""
    @property
    def payload(self) -> Any:
        """The body parsed by ``verify_json``; ``None`` after ``verify``."""
    @property
    def replay_fingerprint(self) -> bytes:
        """A digest of the signed timestamp and the matching signature."""

@final
class Verifier:
    """Verifies deliveries of one scheme, with one or more secrets."""

    def __new__(
        cls,
        scheme: str,
        secret: Union[_Secret, list[_Secret], tuple[_Secret, ...]],
        *,
        tolerance: _Seconds = 300,
        past_tolerance: Union[_Seconds, None] = None,
        future_tolerance: Union[_Seconds, None] = None,
    ) -> Self: ...
    def verify(self, headers: _Headers, body: _Body, *, now: Union[_UnixTime, None] = None) -> Verified:
        """Verifies a delivery; raises ``WebhookVerificationError`` when it is refused."""
    def verify_json(
        self, headers: _Headers, body: _Body, *, now: Union[_UnixTime, None] = None
    ) -> Verified:
        """Verifies a delivery, then parses its body with ``json.loads``."""
    @property
    def scheme(self) -> str:
        """The scheme's name, as given to the constructor."""
    @property
    def past_tolerance(self) -> int:
        """How old a signed timestamp may be, in seconds."""
    @property
    def future_tolerance(self) -> int:
        """How far ahead a signed timestamp may be, in seconds."""
    @property
    def header_names(self) -> tuple[str, ...]:
        """The headers this scheme reads, lowercase."""

@final
class Signer:
    """Signs bodies as a provider of one scheme does."""

    def __new__(
        cls,
        scheme: str,
        secret: _Secret,
        *,
        previous: Union[_Secret, None] = None,
        previous_expires_at: Union[_UnixTime, None] = None,
    ) -> Self: ...
    def sign(
        self,
        body: _Body,
        *,
        id: Union[str, None] = None,
        timestamp: Union[_UnixTime, None] = None,
    ) -> dict[str, str]:
        """Signs ``body`` and returns the headers to send."""
    @property
    def scheme(self) -> str:
        """The scheme's name, as given to the constructor."""

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
