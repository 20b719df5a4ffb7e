using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Wrenn.Grains.Errors;

namespace Wrenn.Silo.Quotas;

public enum HoldKind { Running, Paused }

/// <summary>What one sandbox counts against its team's quota: running (with its size) or paused.</summary>
public sealed record SandboxHold(string TeamId, string SandboxId, HoldKind Kind, int Vcpus, int MemoryMib);

/// <summary>What one settling of the holds against the sandbox records changed.</summary>
public sealed record HoldsSettled(int Released, int Added, int Corrected)
{
    public bool Any => Released + Added + Corrected > 0;
}

/// <summary>
/// Team quotas, and the one place that checks them: every transition that makes a sandbox count
/// more (a create, a resume, a pause; a later fork as a create, a wake as a resume) takes a
/// <see cref="SandboxHold"/> here first, atomically across the cluster. The check and the hold are
/// one PostgreSQL transaction under the team's row lock (<c>SELECT … FOR UPDATE</c> on
/// <c>wrenn_teams</c>): two silos creating for one team at once queue on that row, and the second
/// reads what the first held. A hold is released after its sandbox ended; the reconciler settles
/// holds against the sandbox records, so one whose sandbox never came to be (a silo that died
/// between the hold and the record) goes after <see cref="QuotaOptions.SettleAfter"/>.
/// </summary>
public sealed partial class TeamQuotas(NpgsqlDataSource dataSource, IOptions<QuotaOptions> options, ILogger<TeamQuotas> logger)
{
    /// <summary>Bounds of a limit: anything above is a mistake, not a quota.</summary>
    public const int MaxSandboxes = 1_000_000;

    public const int MaxVcpus = 1_000_000;

    /// <summary>1 PiB.</summary>
    public const int MaxMemoryMib = 1 << 30;

    private const string Live = "'Creating', 'Running', 'Paused'";
    private const string Ended = "'Destroyed', 'Failed', 'Lost'";
    private const string KindOfRecord = "CASE WHEN s.state = 'Paused' THEN 'paused' ELSE 'running' END";

    /// <summary>The team's quota, or null when there is no such team.</summary>
    public async Task<TeamQuota?> GetAsync(string teamId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT max_running_sandboxes, max_vcpus, max_memory_mib, max_paused_sandboxes FROM wrenn_teams WHERE id = $1");
        command.Parameters.Add(new() { Value = teamId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadQuota(reader, 0) : null;
    }

    /// <summary>Changes the limits given (a null value removes one) and returns the quota as it is now; INVALID_ARGUMENT for a negative or absurd limit.</summary>
    public async Task<TeamQuota> SetAsync(string teamId, QuotaChange change, CancellationToken cancellationToken)
    {
        Validate(nameof(change.MaxRunningSandboxes), change.MaxRunningSandboxes, MaxSandboxes);
        Validate(nameof(change.MaxVcpus), change.MaxVcpus, MaxVcpus);
        Validate(nameof(change.MaxMemoryMib), change.MaxMemoryMib, MaxMemoryMib);
        Validate(nameof(change.MaxPausedSandboxes), change.MaxPausedSandboxes, MaxSandboxes);
        await using var command = dataSource.CreateCommand("""
            UPDATE wrenn_teams SET
                max_running_sandboxes = CASE WHEN $2 THEN $3 ELSE max_running_sandboxes END,
                max_vcpus             = CASE WHEN $4 THEN $5 ELSE max_vcpus END,
                max_memory_mib        = CASE WHEN $6 THEN $7 ELSE max_memory_mib END,
                max_paused_sandboxes  = CASE WHEN $8 THEN $9 ELSE max_paused_sandboxes END
            WHERE id = $1
            RETURNING max_running_sandboxes, max_vcpus, max_memory_mib, max_paused_sandboxes
            """);
        command.Parameters.Add(new() { Value = teamId });
        foreach (var limit in new[] { change.MaxRunningSandboxes, change.MaxVcpus, change.MaxMemoryMib, change.MaxPausedSandboxes })
        {
            command.Parameters.Add(new() { Value = limit.Given });
            command.Parameters.Add(new() { Value = (object?)limit.Value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
        }
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? ReadQuota(reader, 0)
            : throw new GrainException(ErrorCodes.NotFound, $"No team {teamId}.");
    }

    private static void Validate(string name, LimitChange limit, int bound)
    {
        if (limit.Value is { } value && (value < 0 || value > bound))
        {
            var argument = char.ToLowerInvariant(name[0]) + name[1..];
            throw new GrainException(ErrorCodes.InvalidArgument, $"{argument} must be between 0 and {bound} (got {value}); null removes the limit.");
        }
    }

    public async Task<TeamUsage> UsageAsync(string teamId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await UsageAsync(connection, teamId, exceptSandbox: "", cancellationToken);
    }

    /// <summary>
    /// Counts the sandbox as <paramref name="hold"/> says, replacing what it counted before. With
    /// <paramref name="enforce"/>, fails with RESOURCE_EXHAUSTED (naming the limit and the team's
    /// use) and changes nothing when the team's other sandboxes leave no room; without, it only
    /// records what is (the silo's own transitions and undoing a step must never be refused).
    /// </summary>
    public async Task HoldAsync(SandboxHold hold, bool enforce, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (enforce)
        {
            // The team's row is the lock: a check of the same team elsewhere waits here until this one
            // committed, and then (a new statement, so a new snapshot) reads the hold it wrote.
            await using var lockTeam = new NpgsqlCommand(
                "SELECT name, max_running_sandboxes, max_vcpus, max_memory_mib, max_paused_sandboxes FROM wrenn_teams WHERE id = $1 FOR UPDATE", connection, transaction);
            lockTeam.Parameters.Add(new() { Value = hold.TeamId });
            string? team = null;
            var quota = TeamQuota.None;
            await using (var reader = await lockTeam.ExecuteReaderAsync(cancellationToken))
            {
                if (await reader.ReadAsync(cancellationToken))
                    (team, quota) = (reader.GetString(0), ReadQuota(reader, 1));
            }
            if (team is not null && quota != TeamQuota.None)
            {
                var others = await UsageAsync(connection, hold.TeamId, hold.SandboxId, cancellationToken);
                if (Exceeded(team, quota, others, hold) is { } why)
                    throw new GrainException(ErrorCodes.ResourceExhausted, why);
            }
        }
        await using (var write = new NpgsqlCommand("""
            INSERT INTO wrenn_quota_holds (sandbox_id, team_id, kind, vcpus, memory_mib) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (sandbox_id) DO UPDATE SET kind = excluded.kind, vcpus = excluded.vcpus, memory_mib = excluded.memory_mib, updated_at = now()
            """, connection, transaction))
        {
            write.Parameters.Add(new() { Value = hold.SandboxId });
            write.Parameters.Add(new() { Value = hold.TeamId });
            write.Parameters.Add(new() { Value = hold.Kind == HoldKind.Running ? "running" : "paused" });
            write.Parameters.Add(new() { Value = hold.Vcpus });
            write.Parameters.Add(new() { Value = hold.MemoryMib });
            await write.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>The sandbox counts no more (it ended, or its create never started).</summary>
    public async Task ReleaseAsync(string sandboxId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM wrenn_quota_holds WHERE sandbox_id = $1");
        command.Parameters.Add(new() { Value = sandboxId });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Makes the holds agree with the sandbox records, for every team: holds of ended sandboxes go;
    /// holds without a record (the create never got that far) and holds of the wrong kind (a resume or
    /// pause that died half way) are settled once they are older than <see cref="QuotaOptions.SettleAfter"/>;
    /// a live sandbox without a hold gets one. Safe on every silo at once: each statement reads one
    /// snapshot, and the transitions take their holds before the records change and release them after.
    /// </summary>
    public async Task<HoldsSettled> SettleAsync(CancellationToken cancellationToken)
    {
        var grace = options.Value.SettleAfter;
        var released = await ExecuteAsync($"""
            DELETE FROM wrenn_quota_holds h
            WHERE EXISTS (SELECT 1 FROM wrenn_sandboxes s WHERE s.id = h.sandbox_id AND s.state IN ({Ended}))
               OR (h.updated_at < now() - $1 AND NOT EXISTS (SELECT 1 FROM wrenn_sandboxes s WHERE s.id = h.sandbox_id))
            """, grace, cancellationToken);
        var added = await ExecuteAsync($"""
            INSERT INTO wrenn_quota_holds (sandbox_id, team_id, kind, vcpus, memory_mib)
            SELECT s.id, s.team_id, {KindOfRecord}, s.vcpus, s.memory_mib FROM wrenn_sandboxes s
            WHERE s.state IN ({Live}) AND NOT EXISTS (SELECT 1 FROM wrenn_quota_holds h WHERE h.sandbox_id = s.id)
            ON CONFLICT (sandbox_id) DO NOTHING
            """, null, cancellationToken);
        var corrected = await ExecuteAsync($"""
            UPDATE wrenn_quota_holds h SET kind = {KindOfRecord}, vcpus = s.vcpus, memory_mib = s.memory_mib, updated_at = now()
            FROM wrenn_sandboxes s
            WHERE s.id = h.sandbox_id AND s.state IN ({Live}) AND h.kind <> {KindOfRecord} AND h.updated_at < now() - $1
            """, grace, cancellationToken);
        var settled = new HoldsSettled(released, added, corrected);
        if (settled.Any)
            LogSettled(released, added, corrected);
        return settled;
    }

    private async Task<int> ExecuteAsync(string sql, TimeSpan? grace, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(sql);
        if (grace is { } interval)
            command.Parameters.Add(new() { Value = interval, NpgsqlDbType = NpgsqlDbType.Interval });
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<TeamUsage> UsageAsync(NpgsqlConnection connection, string teamId, string exceptSandbox, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            SELECT count(*) FILTER (WHERE kind = 'running'),
                   coalesce(sum(vcpus) FILTER (WHERE kind = 'running'), 0),
                   coalesce(sum(memory_mib) FILTER (WHERE kind = 'running'), 0),
                   count(*) FILTER (WHERE kind = 'paused')
            FROM wrenn_quota_holds WHERE team_id = $1 AND sandbox_id <> $2
            """, connection);
        command.Parameters.Add(new() { Value = teamId });
        command.Parameters.Add(new() { Value = exceptSandbox });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new TeamUsage(Clamp(reader.GetInt64(0)), Clamp(reader.GetInt64(1)), Clamp(reader.GetInt64(2)), Clamp(reader.GetInt64(3)));
    }

    private static int Clamp(long value) => (int)Math.Min(value, int.MaxValue);

    /// <summary>Why the hold does not fit beside the team's other sandboxes (every limit it passes), or null.</summary>
    private static string? Exceeded(string team, TeamQuota quota, TeamUsage others, SandboxHold hold)
    {
        var over = new List<string>();
        if (hold.Kind == HoldKind.Running)
        {
            if (quota.MaxRunningSandboxes is { } sandboxes && others.RunningSandboxes + 1 > sandboxes)
                over.Add($"maxRunningSandboxes is {sandboxes} and {others.RunningSandboxes} of its sandboxes run (starting and resuming ones count)");
            if (quota.MaxVcpus is { } vcpus && others.Vcpus + hold.Vcpus > vcpus)
                over.Add($"maxVcpus is {vcpus}, its running sandboxes use {others.Vcpus} and this one needs {hold.Vcpus}");
            if (quota.MaxMemoryMib is { } memory && (long)others.MemoryMib + hold.MemoryMib > memory)
                over.Add($"maxMemoryMib is {memory}, its running sandboxes use {others.MemoryMib} MiB and this one needs {hold.MemoryMib} MiB");
        }
        else if (quota.MaxPausedSandboxes is { } paused && others.PausedSandboxes + 1 > paused)
        {
            over.Add($"maxPausedSandboxes is {paused} and {others.PausedSandboxes} of its sandboxes are paused");
        }
        if (over.Count == 0)
            return null;
        var remedy = hold.Kind == HoldKind.Running ? "destroy or pause some of its sandboxes" : "destroy some of its paused sandboxes";
        return $"Team '{team}' is at its quota: {string.Join("; ", over)}. {char.ToUpperInvariant(remedy[0])}{remedy[1..]}, or ask an admin to raise the quota (setTeamQuota).";
    }

    private static TeamQuota ReadQuota(NpgsqlDataReader reader, int first)
    {
        int? At(int i) => reader.IsDBNull(first + i) ? null : reader.GetInt32(first + i);
        return new TeamQuota(At(0), At(1), At(2), At(3));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Quota holds settled against the sandbox records: {Released} released, {Added} added, {Corrected} corrected")]
    private partial void LogSettled(int released, int added, int corrected);
}
