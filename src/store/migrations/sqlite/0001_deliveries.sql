-- The delivery queue of titan-webhooks. Times are microseconds since the
-- Unix epoch; webhook ids are JSON (42 or "wh_1"), so both forms round-trip.

-- An envelope's bytes, stored once for all its deliveries.
CREATE TABLE titan_webhooks_envelopes (
    id TEXT PRIMARY KEY NOT NULL,
    event TEXT NOT NULL,
    session TEXT NOT NULL,
    body BLOB NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- One row per (envelope, webhook) delivery.
CREATE TABLE titan_webhooks_deliveries (
    id INTEGER PRIMARY KEY,
    envelope_id TEXT NOT NULL REFERENCES titan_webhooks_envelopes (id),
    webhook_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'in_flight', 'retry', 'succeeded', 'exhausted', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner TEXT,
    -- Bumped by every claim, so a completion from a lapsed claim is refused.
    lease_token INTEGER NOT NULL DEFAULT 0,
    lease_until INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (envelope_id, webhook_id)
) STRICT;

CREATE INDEX titan_webhooks_deliveries_due
    ON titan_webhooks_deliveries (next_attempt_at, id) WHERE state IN ('pending', 'retry');
CREATE INDEX titan_webhooks_deliveries_leased
    ON titan_webhooks_deliveries (lease_until) WHERE state = 'in_flight';
CREATE INDEX titan_webhooks_deliveries_webhook
    ON titan_webhooks_deliveries (webhook_id, id);
CREATE INDEX titan_webhooks_deliveries_finished
    ON titan_webhooks_deliveries (state, updated_at);

-- Every attempt, as the observer saw it. Rows are only ever added, and
-- removed with their delivery when it is purged.
CREATE TABLE titan_webhooks_attempts (
    id INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES titan_webhooks_deliveries (id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    latency_us INTEGER NOT NULL,
    status INTEGER,
    failure TEXT,
    response_body BLOB NOT NULL,
    response_truncated INTEGER NOT NULL,
    location TEXT,
    remote_ip TEXT,
    next TEXT NOT NULL CHECK (next IN ('succeeded', 'retry', 'gave_up', 'disabled')),
    next_attempt_at INTEGER,
    detail TEXT
) STRICT;

CREATE INDEX titan_webhooks_attempts_delivery ON titan_webhooks_attempts (delivery_id, id);

CREATE TRIGGER titan_webhooks_attempts_append_only
    BEFORE UPDATE ON titan_webhooks_attempts
BEGIN
    SELECT RAISE(ABORT, 'titan_webhooks_attempts is append-only');
END;
