//! The current time and random identifiers.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Seconds since the unix epoch; `0` if the clock reads earlier than that.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// `<prefix>` followed by 128 random bits in URL-safe base64 (22
/// characters, no `.`), so the id fits Standard Webhooks' signed content.
///
/// # Panics
///
/// If the operating system's random source fails, which supported platforms
/// do not do once booted.
#[allow(clippy::expect_used)]
pub(crate) fn random_id(prefix: &str) -> String {
    let mut bits = [0u8; 16];
    getrandom::fill(&mut bits).expect("the operating system's random source failed");
    let mut id = String::with_capacity(prefix.len().saturating_add(22));
    id.push_str(prefix);
    URL_SAFE_NO_PAD.encode_string(bits, &mut id);
    id
}
