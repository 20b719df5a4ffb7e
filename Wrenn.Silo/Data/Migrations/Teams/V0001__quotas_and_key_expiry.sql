-- Module wrenn-teams (applied after module wrenn): what a team may use and its keys' lifetimes.

-- A team's quota: null is no limit. Its row is also the lock every quota check of the team takes.
ALTER TABLE wrenn_teams
    ADD COLUMN max_running_sandboxes int CHECK (max_running_sandboxes >= 0),
    ADD COLUMN max_vcpus             int CHECK (max_vcpus >= 0),
    ADD COLUMN max_memory_mib        int CHECK (max_memory_mib >= 0),
    ADD COLUMN max_paused_sandboxes  int CHECK (max_paused_sandboxes >= 0);

-- What counts against a team's quota: one hold per sandbox that runs (starting and resuming ones
-- included) or is paused. Taken before the sandbox's record changes, released after it ended;
-- the reconciler settles holds against wrenn_sandboxes (a crash between the two leaks nothing).
CREATE TABLE wrenn_quota_holds (
    sandbox_id text PRIMARY KEY,
    team_id    text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('running', 'paused')),
    vcpus      int NOT NULL,
    memory_mib int NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX wrenn_quota_holds_team ON wrenn_quota_holds (team_id);

-- Holds for the sandboxes that already live (a database from before quotas).
INSERT INTO wrenn_quota_holds (sandbox_id, team_id, kind, vcpus, memory_mib)
SELECT id, team_id, CASE WHEN state = 'Paused' THEN 'paused' ELSE 'running' END, vcpus, memory_mib
FROM wrenn_sandboxes WHERE state IN ('Creating', 'Running', 'Paused');

-- Keys may expire; when one was last used is written at most once a minute.
ALTER TABLE wrenn_api_keys
    ADD COLUMN expires_at   timestamptz,
    ADD COLUMN last_used_at timestamptz;
