-- Teams own everything; API keys (stored as SHA-256 hashes) map to a team and a role.
CREATE TABLE wrenn_teams (
    id         text PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE wrenn_api_keys (
    id         text PRIMARY KEY,
    team_id    text NOT NULL REFERENCES wrenn_teams,
    role       text NOT NULL CHECK (role IN ('admin', 'member')),
    hash       bytea NOT NULL UNIQUE,
    hint       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

-- Who did what, when: one row per mutation.
CREATE TABLE wrenn_audit (
    id      bigserial PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    team_id text NOT NULL,
    key_id  text,
    action  text NOT NULL,
    target  text,
    detail  jsonb
);
CREATE INDEX wrenn_audit_team ON wrenn_audit (team_id, at DESC);

-- Templates: a base image, or (issue 7) a snapshot. Public ones (team_id NULL) serve every team.
CREATE TABLE wrenn_templates (
    id         text PRIMARY KEY,
    team_id    text REFERENCES wrenn_teams,
    name       text NOT NULL,
    is_public  boolean NOT NULL DEFAULT false,
    kind       text NOT NULL CHECK (kind IN ('image', 'snapshot')),
    vcpus      int NOT NULL,
    memory_mib int NOT NULL,
    source     jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
CREATE UNIQUE INDEX wrenn_templates_name ON wrenn_templates (coalesce(team_id, ''), name) WHERE deleted_at IS NULL;

-- Sandboxes: the sandbox grain's state (version = etag) and the catalog users list from.
CREATE TABLE wrenn_sandboxes (
    id          text PRIMARY KEY,
    team_id     text NOT NULL,
    template_id text NOT NULL,
    host        text NOT NULL,
    state       text NOT NULL,
    vcpus       int NOT NULL,
    memory_mib  int NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deadline    timestamptz,
    metadata    jsonb NOT NULL DEFAULT '{}',
    error       text,
    vm          jsonb,
    version     bigint NOT NULL DEFAULT 1
);
CREATE INDEX wrenn_sandboxes_team ON wrenn_sandboxes (team_id, created_at DESC);
CREATE INDEX wrenn_sandboxes_host ON wrenn_sandboxes (host, state);
