using System.Text;
using Npgsql;
using NpgsqlTypes;
using Wrenn.Grains.Errors;
using Wrenn.GraphQL.Backend;

namespace Wrenn.Silo.Webhooks;

/// <summary>A delivery that is due, with what its attempt needs.</summary>
public sealed record DueDelivery(long Seq, string Id, string Url, string Secret, string Body, int Attempts, DateTimeOffset CreatedAt);

/// <summary>Webhooks per team and their deliveries (the outbox the senders drain) in PostgreSQL.</summary>
public sealed class WebhookStore(NpgsqlDataSource dataSource)
{
    /// <summary>The shortest secret accepted, in UTF-8 bytes: an HMAC key shorter than this is guessable.</summary>
    public const int MinSecretBytes = 16;

    private const string DeliveryColumns = "id, webhook_id, sandbox_id, event, status, attempts, last_status, last_error, created_at, delivered_at, next_attempt_at";

    public async Task<WebhookInfo> CreateAsync(string teamId, string url, IReadOnlyList<SandboxEventKind> events, string secret, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || string.IsNullOrEmpty(uri.Host))
            throw new GrainException(ErrorCodes.InvalidArgument, $"'{url}' is not an http(s) URL: a webhook needs an absolute http:// or https:// address.");
        if (events.Count == 0)
            throw new GrainException(ErrorCodes.InvalidArgument, "A webhook needs at least one event to be sent (CREATED, RUNNING, PAUSED, RESUMED, DESTROYED, TIMED_OUT, FAILED, LOST).");
        if (Encoding.UTF8.GetByteCount(secret) < MinSecretBytes)
            throw new GrainException(ErrorCodes.InvalidArgument, $"A webhook's secret must be at least {MinSecretBytes} bytes (got {Encoding.UTF8.GetByteCount(secret)}): it keys the HMAC that signs each delivery.");
        var id = $"wh-{Guid.NewGuid():D}";
        var names = events.Distinct().Select(EventName).ToArray();
        await using var command = dataSource.CreateCommand("INSERT INTO wrenn_webhooks (id, team_id, url, events, secret) VALUES ($1, $2, $3, $4, $5) RETURNING created_at");
        command.Parameters.Add(new() { Value = id });
        command.Parameters.Add(new() { Value = teamId });
        command.Parameters.Add(new() { Value = uri.ToString() });
        command.Parameters.Add(new() { Value = names });
        command.Parameters.Add(new() { Value = secret });
        var created = (DateTime)(await command.ExecuteScalarAsync(cancellationToken))!;
        return new WebhookInfo(id, uri.ToString(), names.Select(EventOf).ToList(), new DateTimeOffset(created, TimeSpan.Zero));
    }

    public async Task<IReadOnlyList<WebhookInfo>> ListAsync(string teamId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT id, url, events, created_at FROM wrenn_webhooks WHERE team_id = $1 AND deleted_at IS NULL ORDER BY created_at, id");
        command.Parameters.Add(new() { Value = teamId });
        var found = new List<WebhookInfo>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            found.Add(new WebhookInfo(reader.GetString(0), reader.GetString(1), reader.GetFieldValue<string[]>(2).Select(EventOf).ToList(), At(reader.GetDateTime(3))));
        return found;
    }

    /// <summary>Marks the webhook deleted and gives up its pending deliveries, in one transaction.</summary>
    public async Task<bool> DeleteAsync(string teamId, string id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            WITH gone AS (UPDATE wrenn_webhooks SET deleted_at = now() WHERE id = $1 AND team_id = $2 AND deleted_at IS NULL RETURNING id),
                 given_up AS (UPDATE wrenn_webhook_deliveries SET status = 'failed', last_error = 'the webhook was deleted'
                              WHERE webhook_id IN (SELECT id FROM gone) AND status = 'pending' RETURNING 1)
            SELECT count(*) FROM gone
            """);
        command.Parameters.Add(new() { Value = id });
        command.Parameters.Add(new() { Value = teamId });
        return (long)(await command.ExecuteScalarAsync(cancellationToken))! > 0;
    }

    public async Task<IReadOnlyList<WebhookDeliveryInfo>> DeliveriesAsync(string teamId, string? webhookId, string? sandboxId, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT {DeliveryColumns} FROM wrenn_webhook_deliveries
            WHERE team_id = $1 AND ($2::text IS NULL OR webhook_id = $2) AND ($3::text IS NULL OR sandbox_id = $3)
            ORDER BY seq DESC LIMIT $4
            """);
        command.Parameters.Add(new() { Value = teamId });
        command.Parameters.Add(new() { Value = (object?)webhookId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = (object?)sandboxId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = limit });
        var found = new List<WebhookDeliveryInfo>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            found.Add(new WebhookDeliveryInfo(reader.GetString(0), reader.GetString(1), reader.GetString(2), EventOf(reader.GetString(3)),
                Enum.Parse<WebhookDeliveryStatus>(reader.GetString(4), ignoreCase: true), reader.GetInt32(5),
                reader.IsDBNull(6) ? null : reader.GetInt32(6), reader.IsDBNull(7) ? null : reader.GetString(7), At(reader.GetDateTime(8)),
                reader.IsDBNull(9) ? null : At(reader.GetDateTime(9)), reader.GetString(4) == "pending" ? At(reader.GetDateTime(10)) : null));
        }
        return found;
    }

    /// <summary>
    /// The deliveries of <paramref name="host"/>'s sandboxes that are due, each the first pending one of
    /// its webhook and sandbox (a later event waits for every earlier one: in order per sandbox).
    /// </summary>
    public async Task<IReadOnlyList<DueDelivery>> DueAsync(string host, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT d.seq, d.id, w.url, w.secret, d.body, d.attempts, d.created_at
            FROM wrenn_webhook_deliveries AS d JOIN wrenn_webhooks AS w ON w.id = d.webhook_id
            WHERE d.host = $1 AND d.status = 'pending' AND d.next_attempt_at <= now()
              AND NOT EXISTS (SELECT 1 FROM wrenn_webhook_deliveries AS e
                              WHERE e.webhook_id = d.webhook_id AND e.sandbox_id = d.sandbox_id AND e.status = 'pending' AND e.seq < d.seq)
            ORDER BY d.seq LIMIT $2
            """);
        command.Parameters.Add(new() { Value = host });
        command.Parameters.Add(new() { Value = limit });
        var due = new List<DueDelivery>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            due.Add(new DueDelivery(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetInt32(5), At(reader.GetDateTime(6))));
        return due;
    }

    /// <summary>When the next pending delivery of the host falls due (null: none pending).</summary>
    public async Task<DateTimeOffset?> NextDueAsync(string host, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT min(next_attempt_at) FROM wrenn_webhook_deliveries WHERE host = $1 AND status = 'pending'");
        command.Parameters.Add(new() { Value = host });
        return await command.ExecuteScalarAsync(cancellationToken) is DateTime next ? At(next) : null;
    }

    public async Task DeliveredAsync(string id, int statusCode, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE wrenn_webhook_deliveries SET status = 'delivered', attempts = attempts + 1, last_status = $2, last_error = NULL, delivered_at = now()
            WHERE id = $1 AND status = 'pending'
            """);
        command.Parameters.Add(new() { Value = id });
        command.Parameters.Add(new() { Value = statusCode });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>An attempt failed: tried again at <paramref name="retryAt"/>, or given up (null).</summary>
    public async Task AttemptFailedAsync(string id, int? statusCode, string error, DateTimeOffset? retryAt, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE wrenn_webhook_deliveries SET attempts = attempts + 1, last_status = $2, last_error = $3,
                status = CASE WHEN $4::timestamptz IS NULL THEN 'failed' ELSE 'pending' END, next_attempt_at = coalesce($4, next_attempt_at)
            WHERE id = $1 AND status = 'pending'
            """);
        command.Parameters.Add(new() { Value = id });
        command.Parameters.Add(new() { Value = (object?)statusCode ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
        command.Parameters.Add(new() { Value = error.Length > 500 ? error[..500] : error });
        command.Parameters.Add(new() { Value = (object?)retryAt?.UtcDateTime ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Deletes the host's finished deliveries older than <paramref name="kept"/>.</summary>
    public async Task PruneAsync(string host, TimeSpan kept, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM wrenn_webhook_deliveries WHERE host = $1 AND status <> 'pending' AND created_at < now() - $2");
        command.Parameters.Add(new() { Value = host });
        command.Parameters.Add(new() { Value = kept });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The name an event has in the database, bodies and the API (TIMED_OUT).</summary>
    public static string EventName(SandboxEventKind kind) => kind switch
    {
        SandboxEventKind.TimedOut => "TIMED_OUT",
        _ => kind.ToString().ToUpperInvariant(),
    };

    private static SandboxEventKind EventOf(string name) => Enum.Parse<SandboxEventKind>(name.Replace("_", ""), ignoreCase: true);

    private static DateTimeOffset At(DateTime utc) => new(DateTime.SpecifyKind(utc, DateTimeKind.Utc));
}
