using Npgsql;

namespace Wrenn.Silo.Runtime.Cluster;

/// <summary>The SQL of membership: joining, heartbeats, suspicion votes and death declarations.</summary>
internal sealed class MembershipTable(NpgsqlDataSource dataSource)
{
    /// <summary>The active incarnation of a silo name, if any (a predecessor of a silo starting under that name).</summary>
    public async Task<SiloInfo?> FindActiveAsync(string name, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT incarnation, endpoint, now() - heartbeat_at FROM wrenn_silos WHERE name = $1 AND status = 'active'");
        command.Parameters.Add(new() { Value = name });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new SiloInfo(reader.GetInt64(0), name, new Uri(reader.GetString(1)), SiloStatus.Active, reader.GetTimeSpan(2))
            : null;
    }

    /// <summary>
    /// Joins as a new incarnation; <paramref name="deadPredecessor"/> (this silo's crashed previous
    /// incarnation) is declared dead in the same transaction, so its pinned grains come back here.
    /// </summary>
    public async Task<long> JoinAsync(string name, Uri endpoint, long? deadPredecessor, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (deadPredecessor is { } predecessor)
            await DeclareDeadAsync(connection, transaction, predecessor, cancellationToken);
        await using var insert = new NpgsqlCommand("INSERT INTO wrenn_silos (name, endpoint, status) VALUES ($1, $2, 'active') RETURNING incarnation", connection, transaction);
        insert.Parameters.Add(new() { Value = name });
        insert.Parameters.Add(new() { Value = endpoint.ToString() });
        try
        {
            var incarnation = (long)(await insert.ExecuteScalarAsync(cancellationToken))!;
            await transaction.CommitAsync(cancellationToken);
            return incarnation;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw new InvalidOperationException($"A silo named {name} joined the cluster at the same moment; give each silo its own name.");
        }
    }

    /// <summary>False when this incarnation is no longer active: it was declared dead and must not serve.</summary>
    public async Task<bool> HeartbeatAsync(long incarnation, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("UPDATE wrenn_silos SET heartbeat_at = now() WHERE incarnation = $1 AND status = 'active'");
        command.Parameters.Add(new() { Value = incarnation });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Every active incarnation, and the latest incarnation of every name (for pinned grains).</summary>
    public async Task<IReadOnlyList<SiloInfo>> ReadAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT incarnation, name, endpoint, status, now() - heartbeat_at FROM wrenn_silos WHERE status = 'active'
            UNION
            SELECT * FROM (SELECT DISTINCT ON (name) incarnation, name, endpoint, status, now() - heartbeat_at
                           FROM wrenn_silos ORDER BY name, incarnation DESC) latest
            """);
        var silos = new List<SiloInfo>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            silos.Add(new SiloInfo(reader.GetInt64(0), reader.GetString(1), new Uri(reader.GetString(2)),
                Enum.Parse<SiloStatus>(reader.GetString(3), ignoreCase: true), reader.GetTimeSpan(4)));
        }
        return silos;
    }

    public async Task<SiloStatus?> StatusOfAsync(long incarnation, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT status FROM wrenn_silos WHERE incarnation = $1");
        command.Parameters.Add(new() { Value = incarnation });
        return await command.ExecuteScalarAsync(cancellationToken) is string status ? Enum.Parse<SiloStatus>(status, ignoreCase: true) : null;
    }

    /// <summary>
    /// Records this silo's suspicion of <paramref name="target"/> and declares it dead if its heartbeat
    /// is stale and enough live silos suspect it: <paramref name="votesNeeded"/>, or all other live
    /// silos when there are fewer. True when this call declared it dead.
    /// </summary>
    public async Task<bool> SuspectAsync(long voter, long target, TimeSpan suspectAfter, int votesNeeded, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var vote = new NpgsqlCommand("""
            INSERT INTO wrenn_silo_suspicions (target, voter) VALUES ($1, $2)
            ON CONFLICT (target, voter) DO UPDATE SET voted_at = now()
            """, connection, transaction))
        {
            vote.Parameters.Add(new() { Value = target });
            vote.Parameters.Add(new() { Value = voter });
            await vote.ExecuteNonQueryAsync(cancellationToken);
        }
        await using var declare = new NpgsqlCommand("""
            SELECT incarnation FROM wrenn_silos t
            WHERE t.incarnation = $1 AND t.status = 'active' AND now() - t.heartbeat_at > $2
              AND (SELECT count(*) FROM wrenn_silo_suspicions v JOIN wrenn_silos s ON s.incarnation = v.voter
                   WHERE v.target = $1 AND v.voted_at > now() - $2 AND s.status = 'active' AND now() - s.heartbeat_at < $2)
                  >= LEAST($3, (SELECT count(*) FROM wrenn_silos o
                                WHERE o.status = 'active' AND o.incarnation <> $1 AND now() - o.heartbeat_at < $2))
            FOR UPDATE
            """, connection, transaction);
        declare.Parameters.Add(new() { Value = target });
        declare.Parameters.Add(new() { Value = suspectAfter });
        declare.Parameters.Add(new() { Value = (long)votesNeeded });
        if (await declare.ExecuteScalarAsync(cancellationToken) is null)
        {
            await transaction.CommitAsync(cancellationToken);
            return false;
        }
        await DeclareDeadAsync(connection, transaction, target, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>Marks an incarnation dead and frees its unpinned grains' directory entries.</summary>
    private static async Task DeclareDeadAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long incarnation, CancellationToken cancellationToken)
    {
        await using var batch = Batch(connection, incarnation,
            "UPDATE wrenn_silos SET status = 'dead', ended_at = now() WHERE incarnation = $1 AND status = 'active'",
            "DELETE FROM wrenn_grain_directory WHERE incarnation = $1",
            "DELETE FROM wrenn_silo_suspicions WHERE target = $1");
        batch.Transaction = transaction;
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    private static NpgsqlBatch Batch(NpgsqlConnection connection, long incarnation, params string[] statements)
    {
        var batch = new NpgsqlBatch(connection);
        foreach (var sql in statements)
            batch.BatchCommands.Add(new NpgsqlBatchCommand(sql) { Parameters = { new() { Value = incarnation } } });
        return batch;
    }

    /// <summary>A graceful goodbye: the incarnation leaves; its directory entries are already released.</summary>
    public async Task LeaveAsync(long incarnation, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var batch = Batch(connection, incarnation,
            "UPDATE wrenn_silos SET status = 'left', ended_at = now() WHERE incarnation = $1 AND status = 'active'",
            "DELETE FROM wrenn_grain_directory WHERE incarnation = $1");
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }
}
