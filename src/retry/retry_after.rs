//! The `Retry-After` response header.

use std::time::{Duration, SystemTime};

/// The longest `Retry-After` honoured unless configured otherwise: one
/// hour. A receiver asking for more still gets retried, an hour later, so a
/// wrong or hostile header cannot park deliveries for days.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3_600);

/// Reads a `Retry-After` value, either delay-seconds (`120`) or an
/// HTTP-date (`Wed, 21 Oct 2026 07:28:00 GMT`), as a delay from `now`.
///
/// Anything else, including negative numbers, fractions and dates that do
/// not parse, gives `None`: garbage in the header is ignored, it never stops
/// the retries. A date in the past gives zero. The result is not clamped;
/// [`RetryRules`](super::RetryRules) clamps it.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use titan_webhooks::retry::parse_retry_after;
///
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
/// assert_eq!(parse_retry_after(b"120", now), Some(Duration::from_secs(120)));
/// assert_eq!(
///     parse_retry_after(b"Wed, 21 Oct 2015 07:30:00 GMT", now),
///     Some(Duration::from_secs(120))
/// );
/// assert_eq!(parse_retry_after(b"soon", now), None);
/// ```
#[must_use]
pub fn parse_retry_after(value: &[u8], now: SystemTime) -> Option<Duration> {
    let text = std::str::from_utf8(value).ok()?.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for a u64 still means "a very long time".
        return Some(Duration::from_secs(text.parse().unwrap_or(u64::MAX)));
    }
    let date = httpdate::parse_http_date(text).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}
