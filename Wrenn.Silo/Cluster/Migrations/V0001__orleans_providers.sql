-- Wrenn's tables for Orleans' ADO.NET providers (clustering, grain storage, reminders) on
-- PostgreSQL. The providers run only the statements kept in OrleansQuery, by key: they bind
-- parameters by name (@Name) and read results by column name. What each statement must do is the
-- providers' documented contract; the tables and the SQL are ours. Plain statements with explicit
-- casts (no stored functions), each one atomic on its own.

CREATE TABLE OrleansQuery (
    QueryKey  text PRIMARY KEY,
    QueryText text NOT NULL
);

-- Membership. The version row is the membership table's etag: every insert or update of a silo row
-- bumps it, and a change made against a version that is no longer current changes nothing.
CREATE TABLE orleans_membership_versions (
    cluster_id text PRIMARY KEY,
    version    integer NOT NULL DEFAULT 0,
    changed_at timestamptz NOT NULL DEFAULT now()
);

-- One row per silo incarnation (address, port and generation, a new one at every start).
CREATE TABLE orleans_membership (
    cluster_id    text NOT NULL REFERENCES orleans_membership_versions ON DELETE CASCADE,
    address       text NOT NULL,
    port          integer NOT NULL,
    generation    integer NOT NULL,
    silo_name     text NOT NULL,
    host_name     text NOT NULL,
    status        integer NOT NULL,
    proxy_port    integer,
    suspect_times text,
    started_at    timestamptz NOT NULL,
    alive_at      timestamptz NOT NULL,
    PRIMARY KEY (cluster_id, address, port, generation)
);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
('InsertMembershipVersionKey', $q$
    WITH created AS (
        INSERT INTO orleans_membership_versions (cluster_id) VALUES (@DeploymentId::text)
        ON CONFLICT (cluster_id) DO NOTHING
        RETURNING 1)
    SELECT count(*)::int FROM created
$q$),
('InsertMembershipKey', $q$
    WITH bumped AS (
        UPDATE orleans_membership_versions SET version = version + 1, changed_at = now()
        WHERE cluster_id = @DeploymentId::text AND version = @Version::int
          AND NOT EXISTS (SELECT 1 FROM orleans_membership m
                          WHERE m.cluster_id = @DeploymentId::text AND m.address = @Address::text
                            AND m.port = @Port::int AND m.generation = @Generation::int)
        RETURNING cluster_id),
    added AS (
        INSERT INTO orleans_membership (cluster_id, address, port, generation, silo_name, host_name, status, proxy_port, started_at, alive_at)
        SELECT cluster_id, @Address::text, @Port::int, @Generation::int, @SiloName::text, @HostName::text, @Status::int, @ProxyPort::int,
               @StartTime::timestamptz, @IAmAliveTime::timestamptz
        FROM bumped
        RETURNING 1)
    SELECT count(*)::int FROM added
$q$),
('UpdateMembershipKey', $q$
    WITH bumped AS (
        UPDATE orleans_membership_versions SET version = version + 1, changed_at = now()
        WHERE cluster_id = @DeploymentId::text AND version = @Version::int
          AND EXISTS (SELECT 1 FROM orleans_membership m
                      WHERE m.cluster_id = @DeploymentId::text AND m.address = @Address::text
                        AND m.port = @Port::int AND m.generation = @Generation::int)
        RETURNING cluster_id),
    changed AS (
        UPDATE orleans_membership m
        SET status = @Status::int, suspect_times = @SuspectTimes::text, alive_at = @IAmAliveTime::timestamptz
        FROM bumped
        WHERE m.cluster_id = bumped.cluster_id AND m.address = @Address::text AND m.port = @Port::int AND m.generation = @Generation::int
        RETURNING 1)
    SELECT count(*)::int FROM changed
$q$),
-- A heartbeat: not versioned (it changes no one's view of the cluster), never expected to fail.
('UpdateIAmAlivetimeKey', $q$
    UPDATE orleans_membership SET alive_at = @IAmAliveTime::timestamptz
    WHERE cluster_id = @DeploymentId::text AND address = @Address::text AND port = @Port::int AND generation = @Generation::int
$q$),
-- Both reads answer one row even when no silo matches (the version alone, silo columns null).
('MembershipReadRowKey', $q$
    SELECT m.address AS "Address", m.port AS "Port", m.generation AS "Generation", m.silo_name AS "SiloName",
           m.host_name AS "HostName", m.status AS "Status", m.proxy_port AS "ProxyPort", m.suspect_times AS "SuspectTimes",
           m.started_at AS "StartTime", m.alive_at AS "IAmAliveTime", v.version AS "Version"
    FROM orleans_membership_versions v
    LEFT JOIN orleans_membership m ON m.cluster_id = v.cluster_id
         AND m.address = @Address::text AND m.port = @Port::int AND m.generation = @Generation::int
    WHERE v.cluster_id = @DeploymentId::text
$q$),
('MembershipReadAllKey', $q$
    SELECT m.address AS "Address", m.port AS "Port", m.generation AS "Generation", m.silo_name AS "SiloName",
           m.host_name AS "HostName", m.status AS "Status", m.proxy_port AS "ProxyPort", m.suspect_times AS "SuspectTimes",
           m.started_at AS "StartTime", m.alive_at AS "IAmAliveTime", v.version AS "Version"
    FROM orleans_membership_versions v
    LEFT JOIN orleans_membership m ON m.cluster_id = v.cluster_id
    WHERE v.cluster_id = @DeploymentId::text
$q$),
('GatewaysQueryKey', $q$
    SELECT address AS "Address", proxy_port AS "ProxyPort", generation AS "Generation"
    FROM orleans_membership
    WHERE cluster_id = @DeploymentId::text AND status = @Status::int AND proxy_port > 0
$q$),
('DeleteMembershipTableEntriesKey', $q$
    DELETE FROM orleans_membership_versions WHERE cluster_id = @DeploymentId::text
$q$),
-- Rows of silos that are not active (status 3) and were last heard of before @IAmAliveTime:
-- incarnations long gone, whose rows would otherwise pile up with every restart.
('CleanupDefunctSiloEntriesKey', $q$
    DELETE FROM orleans_membership
    WHERE cluster_id = @DeploymentId::text AND alive_at < @IAmAliveTime::timestamptz AND status <> 3
$q$);

-- Grain state: one row per grain and state name (Orleans passes the grain type and key), with an
-- integer version as its etag. A write or clear against another version changes nothing, and the
-- version it answers tells the provider so.
CREATE TABLE orleans_grain_state (
    service_id  text NOT NULL,
    grain_type  text NOT NULL,
    key_n0      bigint NOT NULL,
    key_n1      bigint NOT NULL,
    key_text    text NOT NULL,
    payload     bytea,
    version     integer NOT NULL,
    modified_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_id, grain_type, key_n0, key_n1, key_text)
);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
('ReadFromStorageKey', $q$
    SELECT payload AS "PayloadBinary", version AS "Version"
    FROM orleans_grain_state
    WHERE service_id = @ServiceId::text AND grain_type = @GrainTypeString::text
      AND key_n0 = @GrainIdN0::bigint AND key_n1 = @GrainIdN1::bigint AND key_text = coalesce(@GrainIdExtensionString::text, '')
$q$),
('WriteToStorageKey', $q$
    WITH updated AS (
        UPDATE orleans_grain_state SET payload = @PayloadBinary::bytea, version = version + 1, modified_at = now()
        WHERE @GrainStateVersion::int IS NOT NULL
          AND service_id = @ServiceId::text AND grain_type = @GrainTypeString::text
          AND key_n0 = @GrainIdN0::bigint AND key_n1 = @GrainIdN1::bigint AND key_text = coalesce(@GrainIdExtensionString::text, '')
          AND version = @GrainStateVersion::int
        RETURNING version),
    inserted AS (
        INSERT INTO orleans_grain_state (service_id, grain_type, key_n0, key_n1, key_text, payload, version)
        SELECT @ServiceId::text, @GrainTypeString::text, @GrainIdN0::bigint, @GrainIdN1::bigint, coalesce(@GrainIdExtensionString::text, ''), @PayloadBinary::bytea, 1
        WHERE @GrainStateVersion::int IS NULL
        ON CONFLICT DO NOTHING
        RETURNING version)
    SELECT coalesce((SELECT version FROM updated), (SELECT version FROM inserted), @GrainStateVersion::int) AS "NewGrainStateVersion"
$q$),
('ClearStorageKey', $q$
    UPDATE orleans_grain_state SET payload = NULL, version = version + 1, modified_at = now()
    WHERE service_id = @ServiceId::text AND grain_type = @GrainTypeString::text
      AND key_n0 = @GrainIdN0::bigint AND key_n1 = @GrainIdN1::bigint AND key_text = coalesce(@GrainIdExtensionString::text, '')
      AND version = @GrainStateVersion::int
    RETURNING version AS "NewGrainStateVersion"
$q$),
('DeleteStorageKey', $q$
    DELETE FROM orleans_grain_state
    WHERE service_id = @ServiceId::text AND grain_type = @GrainTypeString::text
      AND key_n0 = @GrainIdN0::bigint AND key_n1 = @GrainIdN1::bigint AND key_text = coalesce(@GrainIdExtensionString::text, '')
      AND version = @GrainStateVersion::int
    RETURNING version + 1 AS "NewGrainStateVersion"
$q$);

-- Reminders: durable timers per grain and name. grain_hash is the grain's uniform hash as a signed
-- integer; each silo reads the reminders of its own range of the hash ring.
CREATE TABLE orleans_reminders (
    service_id text NOT NULL,
    grain_id   text NOT NULL,
    name       text NOT NULL,
    start_at   timestamptz NOT NULL,
    period_ms  bigint NOT NULL,
    grain_hash integer NOT NULL,
    version    integer NOT NULL,
    PRIMARY KEY (service_id, grain_id, name)
);
CREATE INDEX orleans_reminders_ring ON orleans_reminders (service_id, grain_hash);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
('UpsertReminderRowKey', $q$
    INSERT INTO orleans_reminders AS r (service_id, grain_id, name, start_at, period_ms, grain_hash, version)
    VALUES (@ServiceId::text, @GrainId::text, @ReminderName::text, @StartTime::timestamptz, @Period::bigint, @GrainHash::int, 0)
    ON CONFLICT (service_id, grain_id, name) DO UPDATE
        SET start_at = excluded.start_at, period_ms = excluded.period_ms, grain_hash = excluded.grain_hash, version = r.version + 1
    RETURNING r.version AS "Version"
$q$),
('ReadReminderRowsKey', $q$
    SELECT grain_id AS "GrainId", name AS "ReminderName", start_at AS "StartTime", period_ms AS "Period", version AS "Version"
    FROM orleans_reminders
    WHERE service_id = @ServiceId::text AND grain_id = @GrainId::text
$q$),
('ReadReminderRowKey', $q$
    SELECT grain_id AS "GrainId", name AS "ReminderName", start_at AS "StartTime", period_ms AS "Period", version AS "Version"
    FROM orleans_reminders
    WHERE service_id = @ServiceId::text AND grain_id = @GrainId::text AND name = @ReminderName::text
$q$),
-- A range of the ring that does not wrap around: (BeginHash, EndHash].
('ReadRangeRows1Key', $q$
    SELECT grain_id AS "GrainId", name AS "ReminderName", start_at AS "StartTime", period_ms AS "Period", version AS "Version"
    FROM orleans_reminders
    WHERE service_id = @ServiceId::text AND grain_hash > @BeginHash::int AND grain_hash <= @EndHash::int
$q$),
-- A range that wraps around the end of the ring.
('ReadRangeRows2Key', $q$
    SELECT grain_id AS "GrainId", name AS "ReminderName", start_at AS "StartTime", period_ms AS "Period", version AS "Version"
    FROM orleans_reminders
    WHERE service_id = @ServiceId::text AND (grain_hash > @BeginHash::int OR grain_hash <= @EndHash::int)
$q$),
('DeleteReminderRowKey', $q$
    WITH deleted AS (
        DELETE FROM orleans_reminders
        WHERE service_id = @ServiceId::text AND grain_id = @GrainId::text AND name = @ReminderName::text AND version = @Version::int
        RETURNING 1)
    SELECT count(*)::int FROM deleted
$q$),
('DeleteReminderRowsKey', $q$
    DELETE FROM orleans_reminders WHERE service_id = @ServiceId::text
$q$);
