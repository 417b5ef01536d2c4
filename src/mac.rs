//! HMAC-SHA256 with the key schedule done once.

use arrayvec::ArrayVec;
use hmac::{KeyInit as _, Mac as _};

use crate::Secret;
use crate::header::Tag;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The HMAC state after absorbing the key. Cloning it per message skips the
/// two key blocks a fresh HMAC would hash. Dropping it zeroes the state.
#[derive(Clone)]
pub(crate) struct KeyedMac(HmacSha256);

/// The parts of a signed message, fed to the MAC in order and never
/// concatenated into a new buffer: `[<id>.][<timestamp>.]<body>`.
#[derive(Clone, Copy)]
pub(crate) struct SignedContent<'a> {
    pub(crate) id: Option<&'a [u8]>,
    pub(crate) timestamp: Option<&'a [u8]>,
    pub(crate) body: &'a [u8],
}

impl KeyedMac {
    #[allow(clippy::expect_used)]
    pub(crate) fn new(secret: &Secret) -> Self {
        Self(
            HmacSha256::new_from_slice(secret.expose_bytes())
                .expect("HMAC accepts keys of any length"),
        )
    }

    pub(crate) fn tag(&self, content: SignedContent<'_>) -> Tag {
        let mut mac = self.0.clone();
        // The `<id>.<timestamp>.` prefix in one update when it is short, as
        // it nearly always is: each update is a pass through the MAC's block
        // buffer, which showed on small bodies.
        let mut prefix = ArrayVec::<u8, 128>::new();
        let parts = [content.id, content.timestamp];
        let gathered = parts.into_iter().flatten().all(|part| {
            prefix.try_extend_from_slice(part).is_ok() && prefix.try_push(b'.').is_ok()
        });
        if gathered {
            mac.update(&prefix);
        } else {
            for part in parts.into_iter().flatten() {
                mac.update(part);
                mac.update(b".");
            }
        }
        mac.update(content.body);
        mac.finalize().into_bytes().into()
    }
}
