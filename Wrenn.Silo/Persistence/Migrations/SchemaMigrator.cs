using Microsoft.Extensions.Logging;
using Npgsql;

namespace Wrenn.Silo.Persistence.Migrations;

/// <summary>
/// Applies migrations on start: each step once, in order, in its own transaction together with its
/// record, under an advisory lock so that silos starting together apply each step exactly once.
/// </summary>
public sealed partial class SchemaMigrator(NpgsqlDataSource dataSource, ILogger<SchemaMigrator> logger)
{
    // Any fixed number works; it only has to be the same for every silo.
    private const long LockKey = 0x5772656e6e;

    public async Task<int> ApplyAsync(IEnumerable<Migration> migrations, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await ExecuteAsync(connection, "SELECT pg_advisory_lock($1)", cancellationToken, LockKey);
        try
        {
            await ExecuteAsync(connection, """
                CREATE TABLE IF NOT EXISTS wrenn_schema_migrations (
                    module text NOT NULL, version int NOT NULL, name text NOT NULL, checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (module, version))
                """, cancellationToken);
            var applied = await ReadAppliedAsync(connection, cancellationToken);
            var count = 0;
            foreach (var migration in migrations.OrderBy(m => m.Module, StringComparer.Ordinal).ThenBy(m => m.Version))
            {
                if (applied.TryGetValue((migration.Module, migration.Version), out var checksum))
                {
                    if (checksum != migration.Checksum)
                        throw new SchemaMigrationException($"Migration {migration.Module} V{migration.Version} ({migration.Name}) was changed after it was applied to this database; add a new migration instead of editing an applied one.");
                    continue;
                }
                await ApplyOneAsync(connection, migration, cancellationToken);
                count++;
            }
            return count;
        }
        finally
        {
            await ExecuteAsync(connection, "SELECT pg_advisory_unlock($1)", CancellationToken.None, LockKey);
        }
    }

    private async Task ApplyOneAsync(NpgsqlConnection connection, Migration migration, CancellationToken cancellationToken)
    {
        LogApplying(logger, migration.Module, migration.Version, migration.Name);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        try
        {
            await using (var step = new NpgsqlCommand(migration.Sql, connection, transaction))
                await step.ExecuteNonQueryAsync(cancellationToken);
            await using (var record = new NpgsqlCommand("INSERT INTO wrenn_schema_migrations (module, version, name, checksum) VALUES ($1, $2, $3, $4)", connection, transaction))
            {
                record.Parameters.Add(new() { Value = migration.Module });
                record.Parameters.Add(new() { Value = migration.Version });
                record.Parameters.Add(new() { Value = migration.Name });
                record.Parameters.Add(new() { Value = migration.Checksum });
                await record.ExecuteNonQueryAsync(cancellationToken);
            }
            await transaction.CommitAsync(cancellationToken);
        }
        catch (PostgresException e)
        {
            throw new SchemaMigrationException($"Migration {migration.Module} V{migration.Version} ({migration.Name}) failed and was rolled back: {e.MessageText}", e);
        }
    }

    private static async Task<Dictionary<(string, int), string>> ReadAppliedAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var applied = new Dictionary<(string, int), string>();
        await using var command = new NpgsqlCommand("SELECT module, version, checksum FROM wrenn_schema_migrations", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            applied[(reader.GetString(0), reader.GetInt32(1))] = reader.GetString(2);
        return applied;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, params object[] args)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var arg in args)
            command.Parameters.Add(new() { Value = arg });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Applying schema migration {Module} V{Version} ({Name})")]
    private static partial void LogApplying(ILogger logger, string module, int version, string name);
}

/// <summary>A migration failed or an applied one was edited; the database is left at the last good step.</summary>
public sealed class SchemaMigrationException(string message, Exception? inner = null) : Exception(message, inner);
