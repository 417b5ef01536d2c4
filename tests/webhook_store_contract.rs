//! The `WebhookBackend` contract, through `WebhookStore`, run against every
//! backend: in memory, SQLite on a file, and Postgres on a real server
//! (see `tests/support/postgres.rs`).

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

mod support;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use support::webhooks::create_webhook;
use titan_webhooks::clock::ManualClock;
use titan_webhooks::queue::{Lookup, SubscriptionSource};
use titan_webhooks::retry::{Backoff, RetryPolicy};
use titan_webhooks::subscription::{
    CreateWebhook, CustomHeader, HmacKey, UpdateWebhook, ValidationError, WebhookId,
};
use titan_webhooks::webhooks::{
    Disabled, DisabledReason, Flavour, Health, HealthPolicy, HealthUpdate, Keyring, Owner,
    SealingError, SealingKey, WebhookBackend, WebhookQuery, WebhookStore, WebhookStoreError,
};
use titan_webhooks::{Catalog, Scheme, UrlGuard, Verifier};

/// The application key every store in these tests is opened with.
const KEY: [u8; 32] = [7; 32];
const HOUR: Duration = Duration::from_secs(3600);

fn keyring() -> Keyring {
    Keyring::new(SealingKey::from_bytes(1, KEY))
}

/// A time every backend keeps exactly: whole seconds.
fn at(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
}

async fn open<B: WebhookBackend>(backend: B) -> WebhookStore<B> {
    WebhookStore::builder(backend, keyring())
        .guard(UrlGuard::new())
        .open()
        .await
        .unwrap()
}

fn owner(id: &str) -> Owner {
    Owner::new(id).unwrap()
}

fn number(id: &WebhookId) -> u64 {
    match id {
        WebhookId::Number(number) => *number,
        WebhookId::Text(text) => panic!("the store gave a text id: {text}"),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Whether deliveries of webhook `id` are signed with the key `hmac_key`
/// (and with `also`, during a rotation's grace period): the secret the
/// store sealed opens and signs.
async fn signs_with<B: WebhookBackend>(
    store: &WebhookStore<B>,
    id: &WebhookId,
    scheme: Scheme,
    hmac_key: &str,
) -> bool {
    let Lookup::Active(subscription) = store
        .subscriptions(HealthPolicy::never())
        .lookup(id)
        .await
        .unwrap()
    else {
        panic!("webhook {id} is not active");
    };
    let body = br#"{"event":"message.received"}"#;
    let headers = subscription.signer().sign(body);
    let secret = scheme.secret_encoding().parse(hmac_key).unwrap();
    Verifier::new(scheme, secret).verify(&headers, body).is_ok()
}

async fn a_created_webhook_reads_back_and_its_key_is_shown_once<B: WebhookBackend + Clone>(
    backend: B,
) {
    let store = open(backend.clone()).await;
    let acct = owner("acct_1");
    let retries = RetryPolicy::new(3, 5, Backoff::Linear).unwrap();
    let mut request = CreateWebhook::new("https://example.com/hooks?x=1");
    request.events = Some(vec!["message.received".into(), "session.status".into()]);
    request.session = Some("default".into());
    request.label = Some("Orders ✓".into());
    request.hmac_key = Some(HmacKey::new("hk_known_key_for_the_contract_0001"));
    request.headers = Some(vec![
        CustomHeader::new("Authorization", "Bearer tok_contract"),
        CustomHeader::new("X-Tenant", "t-1"),
    ]);
    request.retries = Some(retries);
    let created = store
        .create(&acct, &Flavour::titan(), request)
        .await
        .unwrap();
    assert_eq!(
        created.hmac_key().expose(),
        "hk_known_key_for_the_contract_0001",
        "the create response shows the key given"
    );
    let id = created.webhook().id().clone();
    assert!(number(&id) > 0);

    let stored = store.get(&acct, &id).await.unwrap().expect("it was stored");
    let webhook = &stored.webhook;
    assert_eq!(webhook.id(), &id);
    assert_eq!(webhook.url().as_str(), "https://example.com/hooks?x=1");
    assert_eq!(
        webhook.filter().events(),
        ["message.received", "session.status"]
    );
    assert_eq!(webhook.filter().session(), Some("default"));
    assert_eq!(webhook.label(), Some("Orders ✓"));
    assert_eq!(webhook.retries(), Some(&retries));
    assert_eq!(webhook.catalog(), &Catalog::titan());
    assert!(webhook.enabled());
    assert_eq!(webhook.created_at(), created.webhook().created_at());
    let headers: Vec<(&str, &str)> = webhook
        .headers()
        .iter()
        .map(|header| (header.name(), header.expose_value()))
        .collect();
    assert_eq!(
        headers,
        [
            ("Authorization", "Bearer tok_contract"),
            ("X-Tenant", "t-1")
        ]
    );
    assert_eq!(stored.owner, acct);
    assert_eq!(stored.scheme, "titan");
    assert_eq!(stored.health, Health::default());
    assert_eq!(stored.previous_secret_expires_at, None);

    // Reading never shows the key again.
    let shown = format!(
        "{stored:?} {}",
        serde_json::to_string(&stored.webhook).unwrap()
    );
    assert!(!shown.contains("hk_known_key"), "{shown}");
    assert!(!shown.contains("hmacKey"), "{shown}");

    // The backend holds the key and the header value only sealed, and the
    // sealed key still signs.
    let row = backend.fetch(number(&id)).await.unwrap().unwrap();
    assert!(!contains(&row.secret, b"hk_known_key"));
    assert!(!contains(&row.headers, b"tok_contract"));
    assert!(
        signs_with(
            &store,
            &id,
            Scheme::titan(),
            "hk_known_key_for_the_contract_0001"
        )
        .await
    );

    // A key left out is generated, different every time.
    let generated = store
        .create(
            &acct,
            &Flavour::titan(),
            CreateWebhook::new("https://example.com/2"),
        )
        .await
        .unwrap();
    let again = store
        .create(
            &acct,
            &Flavour::titan(),
            CreateWebhook::new("https://example.com/3"),
        )
        .await
        .unwrap();
    assert!(generated.hmac_key().expose().len() >= 32);
    assert_ne!(generated.hmac_key().expose(), again.hmac_key().expose());
    assert!(
        signs_with(
            &store,
            generated.webhook().id(),
            Scheme::titan(),
            generated.hmac_key().expose()
        )
        .await
    );
    assert!(number(generated.webhook().id()) > number(&id));
}

async fn lists_page_newest_first_and_filter_by_enabled_and_catalog<B: WebhookBackend + Clone>(
    backend: B,
) {
    let store = open(backend.clone()).await;
    let (a, b) = (owner("acct_a"), owner("acct_b"));
    let mut mine = Vec::new();
    for n in 0..5 {
        let created = store
            .create(
                &a,
                &Flavour::titan(),
                CreateWebhook::new(format!("https://example.com/a/{n}")),
            )
            .await
            .unwrap();
        mine.push(created.webhook().id().clone());
        // Another owner's webhook between each of a's.
        store
            .create(
                &b,
                &Flavour::titan(),
                CreateWebhook::new(format!("https://example.com/b/{n}")),
            )
            .await
            .unwrap();
    }
    let eventium = create_webhook(
        &store,
        &a,
        &Flavour::eventium(),
        "https://example.com/a/eventium",
    )
    .await;
    mine.push(eventium.clone());
    let mut disable = UpdateWebhook::default();
    disable.enabled = Some(false);
    store.update(&a, &mine[1], disable).await.unwrap();

    // Newest first, two at a time, through the cursor.
    let mut listed = Vec::new();
    let mut pages = 0;
    let mut query = WebhookQuery::default().limit(2);
    loop {
        let page = store.list(&a, &query).await.unwrap();
        pages += 1;
        assert!(page.webhooks.len() <= 2);
        assert!(page.webhooks.iter().all(|stored| stored.owner == a));
        listed.extend(
            page.webhooks
                .iter()
                .map(|stored| stored.webhook.id().clone()),
        );
        match page.next {
            Some(cursor) => query = WebhookQuery::default().limit(2).after(cursor),
            None => break,
        }
    }
    let newest_first: Vec<WebhookId> = mine.iter().rev().cloned().collect();
    assert_eq!(listed, newest_first);
    assert_eq!(pages, 3);

    let enabled = store
        .list(&a, &WebhookQuery::default().enabled(true))
        .await
        .unwrap();
    assert_eq!(enabled.webhooks.len(), 5);
    assert!(
        enabled
            .webhooks
            .iter()
            .all(|stored| stored.webhook.enabled())
    );
    let disabled = store
        .list(&a, &WebhookQuery::default().enabled(false))
        .await
        .unwrap();
    let disabled: Vec<&WebhookId> = disabled
        .webhooks
        .iter()
        .map(|stored| stored.webhook.id())
        .collect();
    assert_eq!(disabled, [&mine[1]]);

    let of_eventium = store
        .list(&a, &WebhookQuery::default().catalog(Catalog::eventium()))
        .await
        .unwrap();
    assert_eq!(of_eventium.webhooks.len(), 1);
    assert_eq!(of_eventium.webhooks[0].webhook.id(), &eventium);
    assert_eq!(of_eventium.webhooks[0].scheme, "eventium");
    let of_titan_enabled = store
        .list(
            &a,
            &WebhookQuery::default()
                .catalog(Catalog::titan())
                .enabled(true),
        )
        .await
        .unwrap();
    assert_eq!(of_titan_enabled.webhooks.len(), 4);

    let theirs = store.list(&b, &WebhookQuery::default()).await.unwrap();
    assert_eq!(theirs.webhooks.len(), 5);
    assert!(theirs.webhooks.iter().all(|stored| stored.owner == b));
    assert!(
        store
            .list(&owner("acct_nobody"), &WebhookQuery::default())
            .await
            .unwrap()
            .webhooks
            .is_empty()
    );
}

async fn updates_change_only_the_fields_given<B: WebhookBackend + Clone>(backend: B) {
    let store = open(backend.clone()).await;
    let acct = owner("acct_1");
    let retries = RetryPolicy::new(2, 10, Backoff::Constant).unwrap();
    let mut request = CreateWebhook::new("https://example.com/a");
    request.events = Some(vec!["message.received".into()]);
    request.session = Some("s1".into());
    request.label = Some("first".into());
    request.headers = Some(vec![
        CustomHeader::new("X-One", "1"),
        CustomHeader::new("X-Two", "2"),
    ]);
    request.retries = Some(retries);
    request.hmac_key = Some(HmacKey::new("hk_before_the_update_00000000000001"));
    let created = store
        .create(&acct, &Flavour::titan(), request)
        .await
        .unwrap();
    let id = created.webhook().id().clone();
    let before = store.get(&acct, &id).await.unwrap().unwrap();

    let mut label = UpdateWebhook::default();
    label.label = Some(Some("second".into()));
    let updated = store.update(&acct, &id, label).await.unwrap();
    assert!(updated.new_secret().is_none());
    let after = store.get(&acct, &id).await.unwrap().unwrap();
    assert_eq!(after.webhook.label(), Some("second"));
    assert_eq!(after.webhook.url(), before.webhook.url());
    assert_eq!(after.webhook.filter(), before.webhook.filter());
    assert_eq!(after.webhook.headers(), before.webhook.headers());
    assert_eq!(after.webhook.retries(), Some(&retries));
    assert_eq!(after.webhook.created_at(), before.webhook.created_at());
    assert!(
        signs_with(
            &store,
            &id,
            Scheme::titan(),
            "hk_before_the_update_00000000000001"
        )
        .await
    );

    // Headers replace the whole list; null clears the session and label.
    let mut change = UpdateWebhook::default();
    change.headers = Some(vec![CustomHeader::new("X-Three", "3")]);
    change.session = Some(None);
    change.label = Some(None);
    change.url = Some("https://example.com/b".into());
    store.update(&acct, &id, change).await.unwrap();
    let after = store.get(&acct, &id).await.unwrap().unwrap();
    let headers: Vec<(&str, &str)> = after
        .webhook
        .headers()
        .iter()
        .map(|header| (header.name(), header.expose_value()))
        .collect();
    assert_eq!(headers, [("X-Three", "3")]);
    assert_eq!(after.webhook.filter().session(), None);
    assert_eq!(after.webhook.label(), None);
    assert_eq!(after.webhook.url().path(), "/b");
    assert_eq!(after.webhook.filter().events(), ["message.received"]);

    // A new key signs at once.
    let mut rekey = UpdateWebhook::default();
    rekey.hmac_key = Some(HmacKey::new("hk_after_the_update_000000000000002"));
    let updated = store.update(&acct, &id, rekey).await.unwrap();
    assert_eq!(
        updated.new_secret().unwrap().expose_bytes(),
        b"hk_after_the_update_000000000000002"
    );
    assert!(
        signs_with(
            &store,
            &id,
            Scheme::titan(),
            "hk_after_the_update_000000000000002"
        )
        .await
    );
    assert!(
        !signs_with(
            &store,
            &id,
            Scheme::titan(),
            "hk_before_the_update_00000000000001"
        )
        .await
    );

    // A change the rules refuse changes nothing.
    let revision = backend.revision().await.unwrap();
    let mut refused = UpdateWebhook::default();
    refused.url = Some("http://127.0.0.1/".into());
    refused.label = Some(Some("never stored".into()));
    let err = store.update(&acct, &id, refused).await.unwrap_err();
    assert!(
        matches!(&err, WebhookStoreError::Invalid(invalid) if invalid.field() == "url"),
        "{err:?}"
    );
    assert_eq!(backend.revision().await.unwrap(), revision);
    assert_eq!(store.get(&acct, &id).await.unwrap().unwrap(), after);

    // Disabling records why; enabling again clears the health record.
    let mut disable = UpdateWebhook::default();
    disable.enabled = Some(false);
    store.update(&acct, &id, disable).await.unwrap();
    let disabled = store.get(&acct, &id).await.unwrap().unwrap();
    assert!(!disabled.webhook.enabled());
    assert_eq!(
        disabled.health.disabled.map(|disabled| disabled.reason),
        Some(DisabledReason::Manual)
    );
    let mut enable = UpdateWebhook::default();
    enable.enabled = Some(true);
    store.update(&acct, &id, enable).await.unwrap();
    let enabled = store.get(&acct, &id).await.unwrap().unwrap();
    assert!(enabled.webhook.enabled());
    assert_eq!(enabled.health, Health::default());
}

async fn another_owner_can_neither_see_nor_change_a_webhook<B: WebhookBackend + Clone>(backend: B) {
    let store = open(backend.clone()).await;
    let (mine, theirs) = (owner("acct_mine"), owner("acct_theirs"));
    let id = create_webhook(&store, &mine, &Flavour::eventium(), "https://example.com/").await;
    let before = store.get(&mine, &id).await.unwrap().unwrap();
    let revision = backend.revision().await.unwrap();

    assert!(store.get(&theirs, &id).await.unwrap().is_none());
    assert!(
        store
            .list(&theirs, &WebhookQuery::default())
            .await
            .unwrap()
            .webhooks
            .is_empty()
    );
    let mut change = UpdateWebhook::default();
    change.url = Some("https://attacker.example/".into());
    assert_eq!(
        store.update(&theirs, &id, change).await.unwrap_err(),
        WebhookStoreError::NotFound
    );
    assert!(!store.delete(&theirs, &id).await.unwrap());
    assert_eq!(
        store.rotate_secret(&theirs, &id, HOUR).await.unwrap_err(),
        WebhookStoreError::NotFound
    );

    assert_eq!(
        backend.revision().await.unwrap(),
        revision,
        "nothing was written"
    );
    assert_eq!(store.get(&mine, &id).await.unwrap().unwrap(), before);

    // Ids that name nothing, the largest included, are absent, not errors.
    for missing in [
        WebhookId::Number(u64::MAX),
        WebhookId::Number(i64::MAX as u64 + 1),
        "wh_1".into(),
        "18446744073709551615".into(),
    ] {
        assert!(
            store.get(&mine, &missing).await.unwrap().is_none(),
            "{missing}"
        );
        assert!(!store.delete(&mine, &missing).await.unwrap(), "{missing}");
    }
    assert!(backend.fetch(u64::MAX).await.unwrap().is_none());
    assert!(
        backend
            .update_health(u64::MAX, HealthUpdate::Recovered)
            .await
            .unwrap()
            .is_none()
    );
}

async fn invalid_input_stores_nothing<B: WebhookBackend + Clone>(backend: B) {
    let store = open(backend.clone()).await;
    let acct = owner("acct_1");
    let revision = backend.revision().await.unwrap();
    let refused = |err: WebhookStoreError, field: &str| match err {
        WebhookStoreError::Invalid(invalid) => assert_eq!(invalid.field(), field, "{invalid}"),
        other => panic!("expected a refused {field}, got {other:?}"),
    };

    // A URL the default SSRF guard refuses.
    let err = store
        .create(
            &acct,
            &Flavour::titan(),
            CreateWebhook::new("http://127.0.0.1/"),
        )
        .await
        .unwrap_err();
    refused(err, "url");

    // Eleven custom headers.
    let mut request = CreateWebhook::new("https://example.com/");
    request.headers = Some(
        (0..11)
            .map(|n| CustomHeader::new(format!("X-H{n}"), "v"))
            .collect(),
    );
    let err = store
        .create(&acct, &Flavour::titan(), request)
        .await
        .unwrap_err();
    assert!(matches!(
        &err,
        WebhookStoreError::Invalid(ValidationError::TooManyHeaders { count: 11, max: 10 })
    ));

    // An unknown retry policy is refused where the request is read, so it
    // never reaches the store; a delay out of range likewise.
    for (retries, why) in [
        (
            serde_json::json!({"attempts": 3, "delaySeconds": 5, "policy": "fibonacci"}),
            "unknown retry policy `fibonacci`",
        ),
        (
            serde_json::json!({"attempts": 3, "delaySeconds": 0, "policy": "linear"}),
            "`delaySeconds` must be between 1",
        ),
    ] {
        let body = serde_json::json!({"url": "https://example.com/", "retries": retries});
        let err = serde_json::from_value::<CreateWebhook>(body).unwrap_err();
        assert!(err.to_string().contains(why), "{err}");
    }

    // A 100 KiB label.
    let mut request = CreateWebhook::new("https://example.com/");
    request.label = Some("x".repeat(100 * 1024));
    let err = store
        .create(&acct, &Flavour::titan(), request)
        .await
        .unwrap_err();
    refused(err, "label");

    // A 100 KiB owner id cannot even be named; the message gives its
    // length, not the id.
    let err = Owner::new("o".repeat(100 * 1024)).unwrap_err();
    assert!(err.to_string().contains("102400"), "{err}");
    assert!(err.to_string().len() < 200);

    assert!(
        store
            .list(&acct, &WebhookQuery::default())
            .await
            .unwrap()
            .webhooks
            .is_empty()
    );
    assert_eq!(backend.revision().await.unwrap(), revision);
    assert!(backend.changes_since(0).await.unwrap().is_empty());
}

async fn a_wrong_application_key_is_refused_when_the_store_opens<B: WebhookBackend + Clone>(
    backend: B,
) {
    let store = open(backend.clone()).await;
    let acct = owner("acct_1");
    let id = create_webhook(&store, &acct, &Flavour::titan(), "https://example.com/").await;

    let wrong = WebhookStore::builder(
        backend.clone(),
        Keyring::new(SealingKey::from_bytes(1, [8; 32])),
    )
    .open()
    .await
    .unwrap_err();
    assert_eq!(
        wrong,
        WebhookStoreError::Sealing(SealingError::WrongKey { key_id: 1 })
    );
    assert!(
        wrong
            .to_string()
            .contains("not the key they were sealed with"),
        "{wrong}"
    );

    let missing = WebhookStore::builder(
        backend.clone(),
        Keyring::new(SealingKey::from_bytes(2, KEY)),
    )
    .open()
    .await
    .unwrap_err();
    assert_eq!(
        missing,
        WebhookStoreError::Sealing(SealingError::MissingKey { key_id: 1 })
    );

    // The right key still opens everything, after the refusals.
    let reopened = open(backend).await;
    assert!(reopened.get(&acct, &id).await.unwrap().is_some());
}

async fn revisions_report_creates_updates_and_deletes<B: WebhookBackend + Clone>(backend: B) {
    let store = open(backend.clone()).await;
    let acct = owner("acct_1");
    let start = backend.revision().await.unwrap();

    let a = create_webhook(&store, &acct, &Flavour::titan(), "https://example.com/a").await;
    let after_a = backend.revision().await.unwrap();
    assert!(after_a > start);
    let changes = backend.changes_since(start).await.unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(
        (
            changes[0].id,
            changes[0].owner.as_str(),
            changes[0].revision
        ),
        (number(&a), "acct_1", after_a)
    );

    let b = create_webhook(&store, &acct, &Flavour::titan(), "https://example.com/b").await;
    let after_b = backend.revision().await.unwrap();
    let mut change = UpdateWebhook::default();
    change.label = Some(Some("changed".into()));
    store.update(&acct, &a, change).await.unwrap();
    let after_update = backend.revision().await.unwrap();
    assert!(after_update > after_b && after_b > after_a);
    let changes = backend.changes_since(after_b).await.unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(
        (changes[0].id, changes[0].revision),
        (number(&a), after_update)
    );
    let all: Vec<(u64, u64)> = backend
        .changes_since(start)
        .await
        .unwrap()
        .iter()
        .map(|change| (change.id, change.revision))
        .collect();
    assert_eq!(
        all,
        [(number(&b), after_b), (number(&a), after_update)],
        "oldest first, each webhook at its latest revision"
    );

    // A delete leaves a tombstone that changes_since reports.
    assert!(store.delete(&acct, &b).await.unwrap());
    let after_delete = backend.revision().await.unwrap();
    assert!(after_delete > after_update);
    let changes = backend.changes_since(after_update).await.unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(
        (
            changes[0].id,
            changes[0].owner.as_str(),
            changes[0].revision
        ),
        (number(&b), "acct_1", after_delete)
    );
    assert!(backend.fetch(number(&b)).await.unwrap().is_none());
    assert!(store.get(&acct, &b).await.unwrap().is_none());
    let listed = store.list(&acct, &WebhookQuery::default()).await.unwrap();
    assert_eq!(listed.webhooks.len(), 1);
    assert_eq!(listed.webhooks[0].webhook.id(), &a);
    assert!(!store.delete(&acct, &b).await.unwrap(), "deleted once");
    let mut change = UpdateWebhook::default();
    change.label = Some(Some("revived?".into()));
    assert_eq!(
        store.update(&acct, &b, change).await.unwrap_err(),
        WebhookStoreError::NotFound
    );
    assert_eq!(backend.revision().await.unwrap(), after_delete);

    // A replace from a stale read changes nothing.
    let mut stale = backend.fetch(number(&a)).await.unwrap().unwrap();
    stale.revision = after_a;
    stale.label = Some("lost update".into());
    assert!(backend.replace(&stale).await.unwrap().is_none());
    let mut other_owner = backend.fetch(number(&a)).await.unwrap().unwrap();
    other_owner.owner = "acct_2".into();
    assert!(backend.replace(&other_owner).await.unwrap().is_none());
    assert_eq!(backend.revision().await.unwrap(), after_delete);
    assert_eq!(
        store.get(&acct, &a).await.unwrap().unwrap().webhook.label(),
        Some("changed")
    );

    // Ids are never given out again.
    let c = store
        .create(
            &acct,
            &Flavour::titan(),
            CreateWebhook::new("https://example.com/c"),
        )
        .await
        .unwrap();
    assert!(number(c.webhook().id()) > number(&b));
    assert!(backend.changes_since(u64::MAX).await.unwrap().is_empty());
}

async fn each_health_update_is_applied_as_specified<B: WebhookBackend + Clone>(backend: B) {
    let store = open(backend.clone()).await;
    let acct = owner("acct_1");
    let id = create_webhook(&store, &acct, &Flavour::titan(), "https://example.com/").await;
    let id = number(&id);
    let (t1, t2, t3) = (at(1_800_000_000), at(1_800_000_060), at(1_800_000_120));
    let apply = async |update: HealthUpdate| {
        let before = backend.revision().await.unwrap();
        let row = backend
            .update_health(id, update)
            .await
            .unwrap()
            .expect("the webhook exists");
        assert!(row.revision > before, "{update:?} takes a new revision");
        assert_eq!(backend.revision().await.unwrap(), row.revision);
        assert_eq!(
            backend.fetch(id).await.unwrap().as_ref(),
            Some(&row),
            "as stored"
        );
        row
    };

    let row = apply(HealthUpdate::Failing { since: t1 }).await;
    assert_eq!(
        row.health,
        Health {
            failing_since: Some(t1),
            ..Health::default()
        }
    );
    let row = apply(HealthUpdate::Failing { since: t2 }).await;
    assert_eq!(
        row.health.failing_since,
        Some(t1),
        "already failing since t1"
    );
    let row = apply(HealthUpdate::Exhausted { at: t2 }).await;
    assert_eq!(
        (row.health.failing_since, row.health.exhausted_in_a_row),
        (Some(t1), 1)
    );
    let row = apply(HealthUpdate::Exhausted { at: t3 }).await;
    assert_eq!(
        (row.health.failing_since, row.health.exhausted_in_a_row),
        (Some(t1), 2)
    );
    let row = apply(HealthUpdate::Recovered).await;
    assert_eq!(row.health, Health::default());
    let row = apply(HealthUpdate::Exhausted { at: t2 }).await;
    assert_eq!(
        (row.health.failing_since, row.health.exhausted_in_a_row),
        (Some(t2), 1),
        "exhausted while healthy also starts failing"
    );
    assert!(row.enabled);

    let gone = Disabled {
        reason: DisabledReason::Gone,
        at: t2,
    };
    let row = apply(HealthUpdate::Disable(gone)).await;
    assert!(!row.enabled);
    assert_eq!(row.health.disabled, Some(gone));
    let row = apply(HealthUpdate::Disable(Disabled {
        reason: DisabledReason::Failing,
        at: t3,
    }))
    .await;
    assert!(!row.enabled);
    assert_eq!(row.health.disabled, Some(gone), "the first reason stays");
    assert_eq!(
        row.health.exhausted_in_a_row, 1,
        "disabling keeps the count"
    );

    let stored = store
        .get(&acct, &WebhookId::Number(id))
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.webhook.enabled());
    assert_eq!(stored.health, row.health);

    // The count saturates instead of overflowing.
    let mut full = backend.fetch(id).await.unwrap().unwrap();
    full.health.exhausted_in_a_row = u32::MAX;
    backend.replace(&full).await.unwrap().unwrap();
    let row = apply(HealthUpdate::Exhausted { at: t3 }).await;
    assert_eq!(row.health.exhausted_in_a_row, u32::MAX);

    // A deleted webhook takes no update.
    assert!(store.delete(&acct, &WebhookId::Number(id)).await.unwrap());
    assert!(
        backend
            .update_health(id, HealthUpdate::Recovered)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        backend
            .update_health(id + 1000, HealthUpdate::Failing { since: t1 })
            .await
            .unwrap()
            .is_none()
    );
}

async fn rotated_secrets_sign_during_the_grace_period_and_are_purged_after<
    B: WebhookBackend + Clone,
>(
    backend: B,
) {
    let start = at(1_800_000_000);
    let clock = Arc::new(ManualClock::new(start));
    let store = WebhookStore::builder(backend.clone(), keyring())
        .clock(clock.clone())
        .open()
        .await
        .unwrap();
    let acct = owner("acct_1");
    let mut request = CreateWebhook::new("https://example.com/");
    request.hmac_key = Some(HmacKey::new("hk_old_key_before_rotation_0000000001"));
    let id = store
        .create(&acct, &Flavour::eventium(), request)
        .await
        .unwrap()
        .webhook()
        .id()
        .clone();

    let rotated = store.rotate_secret(&acct, &id, HOUR).await.unwrap();
    assert_eq!(rotated.id, id);
    assert_eq!(rotated.previous_expires_at, Some(start + HOUR));
    let new_key = rotated.hmac_key().expose().to_owned();
    assert_ne!(new_key, "hk_old_key_before_rotation_0000000001");
    let stored = store.get(&acct, &id).await.unwrap().unwrap();
    assert_eq!(stored.previous_secret_expires_at, Some(start + HOUR));
    let row = backend.fetch(number(&id)).await.unwrap().unwrap();
    assert!(row.previous_secret.is_some());
    assert_eq!(row.previous_expires_at, Some(start + HOUR));
    // Eventium's header carries both signatures during the grace period.
    assert!(signs_with(&store, &id, Scheme::eventium(), &new_key).await);
    assert!(
        signs_with(
            &store,
            &id,
            Scheme::eventium(),
            "hk_old_key_before_rotation_0000000001"
        )
        .await
    );

    let revision = backend.revision().await.unwrap();
    assert_eq!(store.purge_expired_secrets().await.unwrap(), 0);
    clock.advance(HOUR - Duration::from_secs(1));
    assert_eq!(store.purge_expired_secrets().await.unwrap(), 0);
    assert_eq!(
        backend.revision().await.unwrap(),
        revision,
        "a purge that removes nothing writes nothing"
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(store.purge_expired_secrets().await.unwrap(), 1);
    let purged = backend.revision().await.unwrap();
    assert!(purged > revision);
    let changes = backend.changes_since(revision).await.unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!((changes[0].id, changes[0].revision), (number(&id), purged));
    let row = backend.fetch(number(&id)).await.unwrap().unwrap();
    assert_eq!((row.previous_secret, row.previous_expires_at), (None, None));
    assert_eq!(
        store
            .get(&acct, &id)
            .await
            .unwrap()
            .unwrap()
            .previous_secret_expires_at,
        None
    );
    assert_eq!(store.purge_expired_secrets().await.unwrap(), 0);
    assert!(signs_with(&store, &id, Scheme::eventium(), &new_key).await);
    assert!(
        !signs_with(
            &store,
            &id,
            Scheme::eventium(),
            "hk_old_key_before_rotation_0000000001"
        )
        .await
    );

    // No grace: the old secret is dropped at once.
    let at_once = store
        .rotate_secret(&acct, &id, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(at_once.previous_expires_at, None);
    let row = backend.fetch(number(&id)).await.unwrap().unwrap();
    assert_eq!(row.previous_secret, None);
    assert!(signs_with(&store, &id, Scheme::eventium(), at_once.hmac_key().expose()).await);

    // A webhook deleted during its grace period leaves nothing to purge.
    store.rotate_secret(&acct, &id, HOUR).await.unwrap();
    assert!(store.delete(&acct, &id).await.unwrap());
    clock.advance(2 * HOUR);
    assert_eq!(store.purge_expired_secrets().await.unwrap(), 0);
}

/// One `#[tokio::test]` per contract clause, for a backend made by `$open`,
/// which returns the backend and whatever must live as long as it.
macro_rules! contract {
    ($name:ident, $open:path) => {
        mod $name {
            use super::*;

            macro_rules! clause {
                ($clause:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $clause() {
                        let (backend, _keep) = $open().await;
                        super::$clause(backend).await;
                    }
                };
            }

            clause!(a_created_webhook_reads_back_and_its_key_is_shown_once);
            clause!(lists_page_newest_first_and_filter_by_enabled_and_catalog);
            clause!(updates_change_only_the_fields_given);
            clause!(another_owner_can_neither_see_nor_change_a_webhook);
            clause!(invalid_input_stores_nothing);
            clause!(a_wrong_application_key_is_refused_when_the_store_opens);
            clause!(revisions_report_creates_updates_and_deletes);
            clause!(each_health_update_is_applied_as_specified);
            clause!(rotated_secrets_sign_during_the_grace_period_and_are_purged_after);
        }
    };
}

async fn memory() -> (titan_webhooks::webhooks::MemoryWebhooks, ()) {
    (titan_webhooks::webhooks::MemoryWebhooks::new(), ())
}

contract!(memory_webhooks, memory);

#[cfg(feature = "sqlite")]
async fn sqlite() -> (titan_webhooks::store::SqliteWebhooks, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let queue = titan_webhooks::store::SqliteStore::open(dir.path().join("webhooks.db"))
        .await
        .unwrap();
    (queue.webhooks(), dir)
}

#[cfg(feature = "sqlite")]
contract!(sqlite_webhooks, sqlite);

#[cfg(feature = "postgres")]
async fn postgres() -> (
    titan_webhooks::store::PostgresWebhooks,
    support::postgres::TestDatabase,
) {
    let database = support::postgres::TestDatabase::create().await;
    let queue = titan_webhooks::store::PostgresStore::connect(database.url())
        .await
        .unwrap();
    (queue.webhooks(), database)
}

#[cfg(feature = "postgres")]
contract!(postgres_webhooks, postgres);
