using Npgsql;
using Wrenn.Silo.Runtime.Grains;

namespace Wrenn.Silo.Runtime.Timers;

/// <summary>A due reminder claimed by this silo for firing.</summary>
internal sealed record DueReminder(GrainId Grain, string Name, DateTime DueAt, TimeSpan? Period);

/// <summary>Durable reminders in PostgreSQL; claims are leased so that a silo dying mid-fire does not lose one.</summary>
internal sealed class ReminderStore(NpgsqlDataSource dataSource)
{
    private static readonly TimeSpan ClaimLease = TimeSpan.FromSeconds(60);

    public async Task SetAsync(GrainId grain, string name, TimeSpan dueIn, TimeSpan? period, CancellationToken cancellationToken)
    {
        if (period is { } p && p < TimeSpan.FromMilliseconds(100))
            throw new ArgumentOutOfRangeException(nameof(period), $"A reminder period of {p} is too short; reminders are for minutes and hours (use a timer for short periods).");
        await using var command = dataSource.CreateCommand("""
            INSERT INTO wrenn_reminders (grain_id, name, due_at, period_ms) VALUES ($1, $2, now() + $3, $4)
            ON CONFLICT (grain_id, name) DO UPDATE SET due_at = EXCLUDED.due_at, period_ms = EXCLUDED.period_ms, claimed_by = NULL, claimed_until = NULL
            """);
        command.Parameters.Add(new() { Value = grain.ToString() });
        command.Parameters.Add(new() { Value = name });
        command.Parameters.Add(new() { Value = dueIn });
        command.Parameters.Add(new() { Value = period is { } q ? (long)q.TotalMilliseconds : DBNull.Value });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task RemoveAsync(GrainId grain, string name, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM wrenn_reminders WHERE grain_id = $1 AND name = $2");
        command.Parameters.Add(new() { Value = grain.ToString() });
        command.Parameters.Add(new() { Value = name });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Claims due reminders for this silo (skipping ones another silo holds).</summary>
    public async Task<IReadOnlyList<DueReminder>> ClaimDueAsync(long incarnation, int max, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            WITH due AS (
                SELECT grain_id, name FROM wrenn_reminders
                WHERE due_at <= now() AND (claimed_until IS NULL OR claimed_until < now())
                ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED)
            UPDATE wrenn_reminders r SET claimed_by = $1, claimed_until = now() + $2
            FROM due WHERE r.grain_id = due.grain_id AND r.name = due.name
            RETURNING r.grain_id, r.name, r.due_at, r.period_ms
            """);
        command.Parameters.Add(new() { Value = incarnation });
        command.Parameters.Add(new() { Value = ClaimLease });
        command.Parameters.Add(new() { Value = max });
        var due = new List<DueReminder>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            due.Add(new DueReminder(GrainId.Parse(reader.GetString(0)), reader.GetString(1), reader.GetDateTime(2),
                reader.IsDBNull(3) ? null : TimeSpan.FromMilliseconds(reader.GetInt64(3))));
        }
        return due;
    }

    /// <summary>
    /// After a successful fire: a periodic reminder moves to its next due time (skipping missed
    /// ones), a one-shot reminder is deleted — unless the grain set it anew while it fired.
    /// </summary>
    public async Task CompleteAsync(DueReminder reminder, long incarnation, CancellationToken cancellationToken)
    {
        var sql = reminder.Period is null
            ? "DELETE FROM wrenn_reminders WHERE grain_id = $1 AND name = $2 AND claimed_by = $3 AND due_at = $4"
            : """
              UPDATE wrenn_reminders SET claimed_by = NULL, claimed_until = NULL,
                  due_at = due_at + make_interval(secs => period_ms / 1000.0 * (floor(extract(epoch FROM now() - due_at) * 1000 / period_ms) + 1))
              WHERE grain_id = $1 AND name = $2 AND claimed_by = $3 AND due_at = $4
              """;
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.Add(new() { Value = reminder.Grain.ToString() });
        command.Parameters.Add(new() { Value = reminder.Name });
        command.Parameters.Add(new() { Value = incarnation });
        command.Parameters.Add(new() { Value = reminder.DueAt });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>After a failed fire: try again after <paramref name="retryIn"/>.</summary>
    public async Task RetryLaterAsync(DueReminder reminder, long incarnation, TimeSpan retryIn, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("UPDATE wrenn_reminders SET claimed_by = NULL, claimed_until = now() + $4 WHERE grain_id = $1 AND name = $2 AND claimed_by = $3");
        command.Parameters.Add(new() { Value = reminder.Grain.ToString() });
        command.Parameters.Add(new() { Value = reminder.Name });
        command.Parameters.Add(new() { Value = incarnation });
        command.Parameters.Add(new() { Value = retryIn });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
