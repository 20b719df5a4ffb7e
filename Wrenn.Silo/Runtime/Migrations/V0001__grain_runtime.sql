-- Membership: one row per silo incarnation. A silo that restarts, or that was declared dead and
-- comes back, joins as a new incarnation; rows are never reused, so a stale silo cannot pass for a live one.
CREATE TABLE wrenn_silos (
    incarnation  bigserial PRIMARY KEY,
    name         text NOT NULL,
    endpoint     text NOT NULL,
    status       text NOT NULL CHECK (status IN ('active', 'dead', 'left')),
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    ended_at     timestamptz
);
CREATE INDEX wrenn_silos_name ON wrenn_silos (name, incarnation DESC);
CREATE UNIQUE INDEX wrenn_silos_one_active_per_name ON wrenn_silos (name) WHERE status = 'active';

-- Suspicions: a silo is declared dead only when its heartbeat is stale and enough live silos agree.
CREATE TABLE wrenn_silo_suspicions (
    target   bigint NOT NULL REFERENCES wrenn_silos ON DELETE CASCADE,
    voter    bigint NOT NULL REFERENCES wrenn_silos ON DELETE CASCADE,
    voted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (target, voter)
);

-- The directory: the one activation of each grain, by the incarnation that hosts it.
CREATE TABLE wrenn_grain_directory (
    grain_id      text PRIMARY KEY,
    incarnation   bigint NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX wrenn_grain_directory_incarnation ON wrenn_grain_directory (incarnation);

-- Host-affine grains: the silo (by name, across its incarnations) a grain may activate on.
CREATE TABLE wrenn_grain_pins (
    grain_id  text PRIMARY KEY,
    silo_name text NOT NULL,
    pinned_at timestamptz NOT NULL DEFAULT now()
);

-- Durable grain state with an etag for optimistic concurrency.
CREATE TABLE wrenn_grain_state (
    grain_id   text NOT NULL,
    name       text NOT NULL,
    etag       bigint NOT NULL,
    data       jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (grain_id, name)
);

-- Durable reminders: any silo fires a due one by calling the grain, which activates where it belongs.
CREATE TABLE wrenn_reminders (
    grain_id      text NOT NULL,
    name          text NOT NULL,
    due_at        timestamptz NOT NULL,
    period_ms     bigint,
    claimed_by    bigint,
    claimed_until timestamptz,
    PRIMARY KEY (grain_id, name)
);
CREATE INDEX wrenn_reminders_due ON wrenn_reminders (due_at);
