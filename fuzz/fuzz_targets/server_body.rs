//! The management API's request bodies, read exactly as its routers read
//! them, then validated as the routes do, without a store.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use titan_webhooks::server::parse_request_body;
use titan_webhooks::subscription::{
    CreateEndpoint, CreateTitanXWebhook, CreateWebhook, RotateSecret, UpdateEndpoint,
    UpdateWebhook, Webhook, WebhookRules,
};
use titan_webhooks::{Catalog, EventiumTestRequest, Scheme, UrlGuard};
use titan_webhooks_fuzz as _; // The 1 MiB allocation cap.

static TITAN: LazyLock<WebhookRules> = LazyLock::new(|| WebhookRules::new(UrlGuard::new()));
static EVENTIUM: LazyLock<WebhookRules> = LazyLock::new(|| {
    WebhookRules::with_scheme(UrlGuard::new(), Scheme::eventium()).with_catalog(Catalog::eventium())
});
static EXISTING: LazyLock<Webhook> = LazyLock::new(|| {
    TITAN
        .create(7.into(), CreateWebhook::new("https://example.com/hook"))
        .expect("a valid webhook")
        .into_webhook()
});

/// Every refusal carries a status and a code, whichever type was expected.
fn refused(err: &titan_webhooks::server::ApiError) {
    assert!(err.status().is_client_error(), "{err:?}");
}

fuzz_target!(|data: &[u8]| {
    match parse_request_body::<CreateWebhook>(data) {
        Ok(request) => {
            let _ = TITAN.create(1.into(), request);
        }
        Err(err) => refused(&err),
    }
    match parse_request_body::<UpdateWebhook>(data) {
        Ok(update) => {
            let _ = TITAN.update(&EXISTING, update);
        }
        Err(err) => refused(&err),
    }
    match parse_request_body::<CreateEndpoint>(data) {
        Ok(request) => {
            // As the Eventium route maps it.
            let mut create = CreateWebhook::new(request.url);
            create.events = request.events;
            create.label = request.description;
            create.enabled = request.enabled;
            create.headers = request.headers;
            create.retries = request.retries;
            let _ = EVENTIUM.create(2.into(), create);
        }
        Err(err) => refused(&err),
    }
    if let Err(err) = parse_request_body::<UpdateEndpoint>(data) {
        refused(&err);
    }
    if let Err(err) = parse_request_body::<RotateSecret>(data) {
        refused(&err);
    }
    if let Err(err) = parse_request_body::<EventiumTestRequest>(data) {
        refused(&err);
    }
    if let Err(err) = parse_request_body::<CreateTitanXWebhook>(data) {
        refused(&err);
    }
});
