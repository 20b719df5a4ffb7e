-- Webhooks: a team's receivers of sandbox events, and one delivery row per event and receiver.
-- The delivery rows are the outbox: the sandbox store writes them in the same statement as the
-- sandbox record change they describe, so an event is never lost (a crash loses the change and its
-- deliveries together, or neither), and each host's silo drains the rows of its own sandboxes.
CREATE TABLE wrenn_webhooks (
    id         text PRIMARY KEY,
    team_id    text NOT NULL,
    url        text NOT NULL,
    events     text[] NOT NULL,
    secret     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
CREATE INDEX wrenn_webhooks_team ON wrenn_webhooks (team_id) WHERE deleted_at IS NULL;

CREATE TABLE wrenn_webhook_deliveries (
    seq             bigserial PRIMARY KEY,        -- the order events happened in
    id              text NOT NULL UNIQUE,         -- Wrenn-Delivery: the same on every attempt
    webhook_id      text NOT NULL REFERENCES wrenn_webhooks,
    team_id         text NOT NULL,
    sandbox_id      text NOT NULL,
    host            text NOT NULL,                -- the host whose silo sends it (the sandbox's)
    event           text NOT NULL,
    body            text NOT NULL,                -- exactly what is POSTed (and signed)
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_status     int,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz
);
-- The sender's look-ups: what is due on its host, and what is ahead of a delivery for the same receiver and sandbox.
CREATE INDEX wrenn_webhook_deliveries_due ON wrenn_webhook_deliveries (host, next_attempt_at) WHERE status = 'pending';
CREATE INDEX wrenn_webhook_deliveries_line ON wrenn_webhook_deliveries (webhook_id, sandbox_id, seq) WHERE status = 'pending';
CREATE INDEX wrenn_webhook_deliveries_team ON wrenn_webhook_deliveries (team_id, seq DESC);

-- The event a sandbox record write is, from the state before and after it (null: none). A deadline
-- (timeout, or a paused sandbox's retention) that ended it is TIMED_OUT rather than DESTROYED.
CREATE FUNCTION wrenn_sandbox_event(before text, after text, timed_out boolean) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN before IS NULL THEN 'CREATED'
        WHEN before = after THEN NULL
        WHEN after = 'Running' AND before = 'Paused' THEN 'RESUMED'
        WHEN after = 'Running' THEN 'RUNNING'
        WHEN after = 'Paused' THEN 'PAUSED'
        WHEN after = 'Destroyed' AND timed_out THEN 'TIMED_OUT'
        WHEN after = 'Destroyed' THEN 'DESTROYED'
        WHEN after = 'Failed' THEN 'FAILED'
        WHEN after = 'Lost' THEN 'LOST'
    END
$$;
