//! Webhook store fixtures: creating webhooks, and the secrets-at-rest
//! scenario both SQL webhook backends are checked with (webhooks holding
//! known keys and header values, then a scan of every stored cell).

use std::collections::HashSet;
use std::time::Duration;

use titan_webhooks::Secret;
use titan_webhooks::subscription::{CreateWebhook, CustomHeader, HmacKey};
use titan_webhooks::webhooks::{Flavour, Owner, WebhookBackend, WebhookStore};

const HMAC_KEY: &str = "hk_SENTINEL_KEY_4242_kept_only_sealed";
const HEADER_VALUE: &str = "Bearer tok_SENTINEL_123";
/// Raw key bytes of a `whsec_` key, which the stored form must not hold
/// either, encoded or not.
const RAW_KEY: &[u8] = b"SENTINEL_RAW_KEY_BYTES_0123456789";
/// Stored in the clear, so a scan must find it: proof it reads what is
/// stored.
pub const LABEL: &str = "label_CANARY_stored_in_the_clear";

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Stores an Eventium webhook with a known key, a token in a custom header
/// and a rotation still in its grace period, and a TitanX one with a
/// `whsec_` key. Returns each secret, named, as it must never be stored.
pub async fn store_sentinels<B: WebhookBackend>(
    store: &WebhookStore<B>,
    owner: &Owner,
) -> Vec<(&'static str, Vec<u8>)> {
    let mut request = CreateWebhook::new("https://example.com/hook");
    request.hmac_key = Some(HmacKey::new(HMAC_KEY));
    request.headers = Some(vec![CustomHeader::new("Authorization", HEADER_VALUE)]);
    request.label = Some(LABEL.into());
    // Eventium's header carries two signatures, so a rotation keeps the
    // old key, sealed, for its grace period.
    let eventium = store
        .create(owner, &Flavour::eventium(), request)
        .await
        .unwrap();
    let rotated = store
        .rotate_secret(owner, eventium.webhook().id(), Duration::from_secs(3600))
        .await
        .unwrap();
    let whsec = Secret::from_bytes(RAW_KEY).unwrap().to_whsec();
    let mut request = CreateWebhook::new("https://example.com/titanx");
    request.hmac_key = Some(HmacKey::new(whsec.as_str()));
    store
        .create(owner, &Flavour::titanx(), request)
        .await
        .unwrap();
    vec![
        ("the hmacKey", HMAC_KEY.as_bytes().to_vec()),
        ("the header value", HEADER_VALUE.as_bytes().to_vec()),
        ("the header's token", b"tok_SENTINEL_123".to_vec()),
        (
            "the rotated key",
            rotated.hmac_key().expose().as_bytes().to_vec(),
        ),
        ("the whsec_ key", whsec.as_bytes().to_vec()),
        ("the whsec_ key's bytes", RAW_KEY.to_vec()),
    ]
}

/// Checks a scan of every `(table, column, bytes)` cell: it read the
/// webhook tables and the label in the clear, the sealed columns hold
/// sealed values, and no cell holds any of `secrets`.
pub fn assert_only_sealed(cells: &[(String, String, Vec<u8>)], secrets: &[(&str, Vec<u8>)]) {
    let tables: HashSet<&str> = cells.iter().map(|(table, _, _)| table.as_str()).collect();
    for table in [
        "titan_webhooks_webhooks",
        "titan_webhooks_webhook_key_checks",
        "titan_webhooks_webhook_revision",
    ] {
        assert!(tables.contains(table), "{table} was read: {tables:?}");
    }
    assert!(
        cells
            .iter()
            .any(|(table, column, value)| table == "titan_webhooks_webhooks"
                && column == "label"
                && contains(value, LABEL.as_bytes())),
        "the scan reads stored text"
    );
    for sealed in ["secret_sealed", "previous_secret_sealed", "headers_sealed"] {
        assert!(
            cells
                .iter()
                .any(|(_, column, value)| column == sealed && value.len() > 40),
            "{sealed} holds a sealed value"
        );
    }
    for (what, secret) in secrets {
        let found: Vec<(&str, &str)> = cells
            .iter()
            .filter(|(_, _, value)| contains(value, secret))
            .map(|(table, column, _)| (table.as_str(), column.as_str()))
            .collect();
        assert!(
            found.is_empty(),
            "{what} is stored in plaintext in {found:?}"
        );
    }
}

/// Creates a webhook of `flavour` at `url` for `owner`, and returns its id.
pub async fn create_webhook<B: WebhookBackend>(
    store: &WebhookStore<B>,
    owner: &Owner,
    flavour: &Flavour,
    url: impl Into<String>,
) -> titan_webhooks::subscription::WebhookId {
    store
        .create(owner, flavour, CreateWebhook::new(url))
        .await
        .unwrap()
        .webhook()
        .id()
        .clone()
}
