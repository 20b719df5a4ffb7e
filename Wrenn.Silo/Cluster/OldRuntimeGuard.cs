using Npgsql;

namespace Wrenn.Silo.Cluster;

/// <summary>
/// Wrenn's own grain runtime (before Orleans) kept its silos in <c>wrenn_silos</c>. A silo of that
/// runtime still heartbeating there serves sandboxes this silo would take over, and the migration
/// that drops its tables would pull them from under it: this silo refuses to start instead, naming it.
/// </summary>
public static class OldRuntimeGuard
{
    /// <summary>The old runtime declared a silo dead after 10 s without a heartbeat; twice that is surely gone.</summary>
    private static readonly TimeSpan StillAlive = TimeSpan.FromSeconds(20);

    public static async Task ThrowIfOldSiloActiveAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var exists = dataSource.CreateCommand("SELECT to_regclass('wrenn_silos') IS NOT NULL");
        if (await exists.ExecuteScalarAsync(cancellationToken) is not true)
            return;
        await using var active = dataSource.CreateCommand(
            "SELECT name, endpoint FROM wrenn_silos WHERE status = 'active' AND heartbeat_at > now() - $1 ORDER BY name LIMIT 1");
        active.Parameters.Add(new() { Value = StillAlive });
        await using var reader = await active.ExecuteReaderAsync(cancellationToken);
        if (await reader.ReadAsync(cancellationToken))
            throw new InvalidOperationException(
                $"Silo {reader.GetString(0)} ({reader.GetString(1)}) of the previous Wrenn version is still running on this database. " +
                "Stop every silo of that version first (their VMs keep running and are re-adopted), then start this one.");
    }
}
