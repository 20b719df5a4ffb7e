using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Cluster.Events;
using Wrenn.Silo.Sandboxes;
using Wrenn.Silo.Webhooks;

namespace Wrenn.Silo.Data;

/// <summary>A sandbox as stored: what users see, plus what its host holds for it (the VM handle, slot, disk).</summary>
public sealed record SandboxRecord(
    string Id,
    string TeamId,
    string TemplateId,
    string Host,
    SandboxState State,
    int Vcpus,
    int MemoryMib,
    DateTimeOffset CreatedAt,
    DateTimeOffset? Deadline,
    IReadOnlyDictionary<string, string> Metadata,
    string? Error,
    SandboxVm? Vm,
    long Version,
    PausedSandboxVm? Paused = null,
    TimeSpan? Remaining = null,
    DateTimeOffset? PausedAt = null,
    NetworkPolicy? Network = null,
    SandboxLifecycle? Lifecycle = null,
    PauseReason? PausedReason = null)
{
    /// <summary>The settings in force (a record written before they existed has the defaults).</summary>
    public SandboxLifecycle Settings => Lifecycle ?? SandboxLifecycle.Default;

    // The reason shows only while paused: a pause records it with its snapshot, before the state says Paused.
    public SandboxInfo ToInfo() => new(Id, TeamId, TemplateId, Host, State, Vcpus, MemoryMib, CreatedAt, Deadline, Metadata, Error, Network,
        Settings, State == SandboxState.Paused ? PausedReason ?? Wrenn.Grains.Sandboxes.PauseReason.User : null);
}

/// <summary>
/// The sandbox grain's state and the catalog users list from, in one row with a version: a write
/// that lost a race (a second activation, a stale silo) is refused. Every write is published to the
/// change feed (the API's pushed sandboxEvents) and, with webhooks on, queues the deliveries of the
/// event it is in the same statement (<see cref="SandboxEventOutbox"/>).
/// </summary>
public sealed class SandboxStore(NpgsqlDataSource dataSource, ISandboxChangeFeed changes, SandboxEventOutbox? outbox = null)
{
    private const string Columns = "id, team_id, template_id, host, state, vcpus, memory_mib, created_at, deadline, metadata, error, vm, version, paused, remaining_ms, paused_at, network, lifecycle, paused_reason";

    public async Task<SandboxRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM wrenn_sandboxes WHERE id = $1");
        command.Parameters.Add(new() { Value = id });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    /// <summary>The host a sandbox lives on, or null when no sandbox has this id (placement asks).</summary>
    public async Task<string?> HostOfAsync(string id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT host FROM wrenn_sandboxes WHERE id = $1");
        command.Parameters.Add(new() { Value = id });
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    /// <summary>A team's sandboxes, newest first, after the cursor (a sandbox id), optionally in one state.</summary>
    public async Task<IReadOnlyList<SandboxRecord>> ListAsync(string teamId, SandboxState? state, string? after, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT {Columns} FROM wrenn_sandboxes
            WHERE team_id = $1 AND ($2::text IS NULL OR state = $2)
              AND ($3::text IS NULL OR (created_at, id) < (SELECT created_at, id FROM wrenn_sandboxes WHERE id = $3))
            ORDER BY created_at DESC, id DESC LIMIT $4
            """);
        command.Parameters.Add(new() { Value = teamId });
        command.Parameters.Add(new() { Value = (object?)state?.ToString() ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = (object?)after ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = limit });
        return await ReadAllAsync(command, cancellationToken);
    }

    /// <summary>This host's sandboxes in the given states (the reconciler's view of the database).</summary>
    public async Task<IReadOnlyList<SandboxRecord>> OnHostAsync(string host, IReadOnlyList<SandboxState> states, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM wrenn_sandboxes WHERE host = $1 AND state = ANY($2)");
        command.Parameters.Add(new() { Value = host });
        command.Parameters.Add(new() { Value = states.Select(s => s.ToString()).ToArray() });
        return await ReadAllAsync(command, cancellationToken);
    }

    private const string Insert = """
        INSERT INTO wrenn_sandboxes (id, team_id, template_id, host, state, vcpus, memory_mib, created_at, deadline, metadata, error, vm, paused, remaining_ms, paused_at, network, lifecycle, paused_reason, version)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, 1)
        """;

    private static readonly string InsertQueuing = $"""
        WITH written AS ({Insert} RETURNING id, team_id, host, state, NULL::text AS before_state),
             queued AS ({SandboxEventOutbox.Enqueue("written", "$19", "false")} RETURNING 1)
        SELECT (SELECT count(*) FROM queued)
        """;

    public async Task<SandboxRecord> InsertAsync(SandboxRecord record, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(outbox is null ? Insert : InsertQueuing);
        AddParameters(command, record);
        if (outbox is null)
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        else
        {
            command.Parameters.Add(new() { Value = SandboxEventOutbox.Payload(record), NpgsqlDbType = NpgsqlDbType.Text });
            if (await command.ExecuteScalarAsync(cancellationToken) is long and > 0)
                outbox.Queued();
        }
        changes.Publish(new SandboxChange(record.ToInfo(), null));
        return record with { Version = 1 };
    }

    // The row's state before the write comes back with it (locked, so it is the state this write replaced).
    private const string Update = """
        UPDATE wrenn_sandboxes AS s SET team_id = $2, template_id = $3, host = $4, state = $5, vcpus = $6, memory_mib = $7, created_at = $8,
            deadline = $9, metadata = $10, error = $11, vm = $12, paused = $13, remaining_ms = $14, paused_at = $15, network = $16,
            lifecycle = $17, paused_reason = $18, version = s.version + 1, updated_at = now()
        FROM (SELECT id, state FROM wrenn_sandboxes WHERE id = $1 FOR UPDATE) AS before
        WHERE s.id = before.id AND s.version = $19
        """;

    private static readonly string UpdateQueuing = $"""
        WITH written AS ({Update} RETURNING s.id, s.team_id, s.host, s.state, before.state AS before_state),
             queued AS ({SandboxEventOutbox.Enqueue("written", "$20", "$21")} RETURNING 1)
        SELECT before_state, (SELECT count(*) FROM queued) FROM written
        """;

    /// <summary>
    /// Writes the record if nobody else wrote since it was read; returns it with its new version.
    /// <paramref name="timedOut"/>: a deadline (its timeout, or a paused sandbox's retention) ended it (its event is TIMED_OUT).
    /// </summary>
    public async Task<SandboxRecord> UpdateAsync(SandboxRecord record, CancellationToken cancellationToken, bool timedOut = false)
    {
        await using var command = dataSource.CreateCommand(outbox is null ? Update + " RETURNING before.state" : UpdateQueuing);
        AddParameters(command, record);
        command.Parameters.Add(new() { Value = record.Version });
        if (outbox is not null)
        {
            command.Parameters.Add(new() { Value = SandboxEventOutbox.Payload(record), NpgsqlDbType = NpgsqlDbType.Text });
            command.Parameters.Add(new() { Value = timedOut });
        }
        string? before = null;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            if (await reader.ReadAsync(cancellationToken))
            {
                before = reader.GetString(0);
                if (outbox is not null && reader.GetInt64(1) > 0)
                    outbox.Queued();
            }
        }
        if (before is null)
            throw new GrainException(ErrorCodes.Internal, $"Sandbox {record.Id} was changed by someone else (version {record.Version} is stale); retry.");
        var written = record with { Version = record.Version + 1 };
        changes.Publish(new SandboxChange(written.ToInfo(), Enum.Parse<SandboxState>(before)));
        return written;
    }

    private static void AddParameters(NpgsqlCommand command, SandboxRecord record)
    {
        command.Parameters.Add(new() { Value = record.Id });
        command.Parameters.Add(new() { Value = record.TeamId });
        command.Parameters.Add(new() { Value = record.TemplateId });
        command.Parameters.Add(new() { Value = record.Host });
        command.Parameters.Add(new() { Value = record.State.ToString() });
        command.Parameters.Add(new() { Value = record.Vcpus });
        command.Parameters.Add(new() { Value = record.MemoryMib });
        command.Parameters.Add(new() { Value = record.CreatedAt.UtcDateTime });
        command.Parameters.Add(new() { Value = (object?)record.Deadline?.UtcDateTime ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new() { Value = JsonSerializer.Serialize(record.Metadata, WrennJson.Options), NpgsqlDbType = NpgsqlDbType.Jsonb });
        command.Parameters.Add(new() { Value = (object?)record.Error ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = record.Vm is null ? DBNull.Value : JsonSerializer.Serialize(record.Vm, WrennJson.Options), NpgsqlDbType = NpgsqlDbType.Jsonb });
        command.Parameters.Add(new() { Value = record.Paused is null ? DBNull.Value : JsonSerializer.Serialize(record.Paused, WrennJson.Options), NpgsqlDbType = NpgsqlDbType.Jsonb });
        command.Parameters.Add(new() { Value = record.Remaining is { } r ? (long)r.TotalMilliseconds : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
        command.Parameters.Add(new() { Value = (object?)record.PausedAt?.UtcDateTime ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new() { Value = record.Network is null ? DBNull.Value : JsonSerializer.Serialize(record.Network, WrennJson.Options), NpgsqlDbType = NpgsqlDbType.Jsonb });
        command.Parameters.Add(new() { Value = record.Lifecycle is null ? DBNull.Value : JsonSerializer.Serialize(record.Lifecycle, WrennJson.Options), NpgsqlDbType = NpgsqlDbType.Jsonb });
        command.Parameters.Add(new() { Value = (object?)record.PausedReason?.ToString() ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
    }

    private static async Task<IReadOnlyList<SandboxRecord>> ReadAllAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var records = new List<SandboxRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            records.Add(Read(reader));
        return records;
    }

    private static SandboxRecord Read(NpgsqlDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
        Enum.Parse<SandboxState>(reader.GetString(4)), reader.GetInt32(5), reader.GetInt32(6),
        new DateTimeOffset(reader.GetDateTime(7), TimeSpan.Zero),
        reader.IsDBNull(8) ? null : new DateTimeOffset(reader.GetDateTime(8), TimeSpan.Zero),
        JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(9), WrennJson.Options) ?? [],
        reader.IsDBNull(10) ? null : reader.GetString(10),
        reader.IsDBNull(11) ? null : JsonSerializer.Deserialize<SandboxVm>(reader.GetString(11), WrennJson.Options),
        reader.GetInt64(12),
        reader.IsDBNull(13) ? null : JsonSerializer.Deserialize<PausedSandboxVm>(reader.GetString(13), WrennJson.Options),
        reader.IsDBNull(14) ? null : TimeSpan.FromMilliseconds(reader.GetInt64(14)),
        reader.IsDBNull(15) ? null : new DateTimeOffset(reader.GetDateTime(15), TimeSpan.Zero),
        reader.IsDBNull(16) ? null : JsonSerializer.Deserialize<NetworkPolicy>(reader.GetString(16), WrennJson.Options),
        reader.IsDBNull(17) ? null : JsonSerializer.Deserialize<SandboxLifecycle>(reader.GetString(17), WrennJson.Options),
        reader.IsDBNull(18) ? null : Enum.Parse<PauseReason>(reader.GetString(18)));
}
