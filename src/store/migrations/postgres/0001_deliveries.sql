-- The delivery queue of titan-webhooks. Times are microseconds since the
-- Unix epoch; webhook ids are JSON (42 or "wh_1"), so both forms round-trip.

-- An envelope's bytes, stored once for all its deliveries.
CREATE TABLE titan_webhooks_envelopes (
    id TEXT PRIMARY KEY,
    event TEXT NOT NULL,
    session TEXT NOT NULL,
    body BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

-- One row per (envelope, webhook) delivery.
CREATE TABLE titan_webhooks_deliveries (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    envelope_id TEXT NOT NULL REFERENCES titan_webhooks_envelopes (id),
    webhook_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'in_flight', 'retry', 'succeeded', 'exhausted', 'cancelled')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner TEXT,
    -- Bumped by every claim, so a completion from a lapsed claim is refused.
    lease_token BIGINT NOT NULL DEFAULT 0,
    lease_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (envelope_id, webhook_id)
);

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
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id BIGINT NOT NULL REFERENCES titan_webhooks_deliveries (id) ON DELETE CASCADE,
    attempt BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    latency_us BIGINT NOT NULL,
    status BIGINT,
    failure TEXT,
    response_body BYTEA NOT NULL,
    response_truncated BOOLEAN NOT NULL,
    location TEXT,
    remote_ip TEXT,
    next TEXT NOT NULL CHECK (next IN ('succeeded', 'retry', 'gave_up', 'disabled')),
    next_attempt_at BIGINT,
    detail TEXT
);

CREATE INDEX titan_webhooks_attempts_delivery ON titan_webhooks_attempts (delivery_id, id);

CREATE FUNCTION titan_webhooks_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'titan_webhooks_attempts is append-only';
END;
$$;

CREATE TRIGGER titan_webhooks_attempts_append_only
    BEFORE UPDATE ON titan_webhooks_attempts
    FOR EACH ROW EXECUTE FUNCTION titan_webhooks_refuse_update();
