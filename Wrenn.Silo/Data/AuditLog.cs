using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.Silo.Data;

public sealed record AuditEntry(DateTimeOffset At, string TeamId, string? KeyId, string Action, string? Target);

/// <summary>One row per mutation: who (team, key), what (action, target), when.</summary>
public sealed class AuditLog(NpgsqlDataSource dataSource)
{
    public async Task RecordAsync(Caller caller, string action, string? target, object? detail = null, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("INSERT INTO wrenn_audit (team_id, key_id, action, target, detail) VALUES ($1, $2, $3, $4, $5)");
        command.Parameters.Add(new() { Value = caller.TeamId });
        command.Parameters.Add(new() { Value = (object?)caller.KeyId ?? DBNull.Value });
        command.Parameters.Add(new() { Value = action });
        command.Parameters.Add(new() { Value = (object?)target ?? DBNull.Value });
        command.Parameters.Add(new() { Value = detail is null ? DBNull.Value : JsonSerializer.Serialize(detail, WrennJson.Options), NpgsqlDbType = NpgsqlDbType.Jsonb });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<AuditEntry>> ForTeamAsync(string teamId, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT at, team_id, key_id, action, target FROM wrenn_audit WHERE team_id = $1 ORDER BY id DESC LIMIT $2");
        command.Parameters.Add(new() { Value = teamId });
        command.Parameters.Add(new() { Value = limit });
        var entries = new List<AuditEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            entries.Add(new AuditEntry(reader.GetDateTime(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
        return entries;
    }
}
