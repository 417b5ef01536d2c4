-- Webhooks as durable objects, for WebhookStore over PostgresWebhooks.
-- Times are microseconds since the Unix epoch. Signing keys and custom
-- headers are kept only sealed (XChaCha20-Poly1305 under the application's
-- key), in the *_sealed columns: no column holds a secret in plaintext.

CREATE TABLE titan_webhooks_webhooks (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner TEXT NOT NULL,
    catalog TEXT NOT NULL,
    scheme TEXT NOT NULL,
    url TEXT NOT NULL,
    -- A JSON array of event types; [] means every event.
    events TEXT NOT NULL,
    session TEXT,
    enabled BOOLEAN NOT NULL,
    -- The JSON retry object; NULL for the sender's default.
    retries TEXT,
    label TEXT,
    created_at BIGINT NOT NULL,
    failing_since BIGINT,
    exhausted_in_a_row BIGINT NOT NULL,
    disabled_reason TEXT,
    disabled_at BIGINT,
    headers_sealed BYTEA NOT NULL,
    secret_sealed BYTEA NOT NULL,
    previous_secret_sealed BYTEA,
    previous_secret_expires_at BIGINT,
    -- The value of titan_webhooks_webhook_revision its last change took.
    revision BIGINT NOT NULL,
    -- A deleted webhook stays as a tombstone, its sealed columns wiped, so
    -- that processes caching it learn of the delete from its revision.
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    CHECK ((disabled_reason IS NULL) = (disabled_at IS NULL))
);

CREATE INDEX titan_webhooks_webhooks_owner ON titan_webhooks_webhooks (owner, id);
CREATE INDEX titan_webhooks_webhooks_revision ON titan_webhooks_webhooks (revision);
CREATE INDEX titan_webhooks_webhooks_grace
    ON titan_webhooks_webhooks (previous_secret_expires_at)
    WHERE previous_secret_expires_at IS NOT NULL;

-- A known value sealed under each key that has written to the store, so a
-- wrong key is refused when the store opens, before it seals anything.
CREATE TABLE titan_webhooks_webhook_key_checks (
    key_id BIGINT PRIMARY KEY,
    sealed BYTEA NOT NULL
);

-- One row: the revision of the latest change to a webhook. Every write
-- takes the next value first, and the row's lock makes revisions commit in
-- order, so a process that read revision r misses no later change.
CREATE TABLE titan_webhooks_webhook_revision (
    id INT PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);

INSERT INTO titan_webhooks_webhook_revision (id, value) VALUES (1, 0);
