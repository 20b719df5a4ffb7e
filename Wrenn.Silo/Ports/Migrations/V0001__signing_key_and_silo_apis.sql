-- Secrets every silo of the cluster shares, made by the first silo that needs one (port URL tokens
-- are signed with 'port-urls', so any silo verifies a URL another made).
CREATE TABLE wrenn_cluster_secrets (
    name       text PRIMARY KEY,
    secret     bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Where each host's silo serves its API, as it published it at its last start: a silo forwards a
-- request for a sandbox on another host to that host's API, which reaches the guest.
CREATE TABLE wrenn_silo_apis (
    host       text PRIMARY KEY,
    url        text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
