using System.Text.Json;
using Wrenn.GraphQL.Schema.Types;
using Wrenn.Silo.Data;

namespace Wrenn.Silo.Webhooks;

/// <summary>
/// The part of a sandbox record write that queues its webhook deliveries: <see cref="SandboxStore"/>
/// runs <see cref="Enqueue"/> in the same statement as the write, so the change and its deliveries
/// are committed together. The event comes from the state before and after the write
/// (<c>wrenn_sandbox_event</c>); each of the team's webhooks that asked for it gets a row.
/// </summary>
public sealed class SandboxEventOutbox(WebhookSignal signal)
{
    /// <summary>
    /// An INSERT of deliveries from <paramref name="written"/> (a CTE with columns id, team_id, host,
    /// state and before_state), taking the payload JSON and the timed-out flag from the parameters named.
    /// </summary>
    public static string Enqueue(string written, string payloadParameter, string timedOutParameter) => $"""
        INSERT INTO wrenn_webhook_deliveries (id, webhook_id, team_id, sandbox_id, host, event, body)
        SELECT d.id, d.webhook_id, d.team_id, d.sandbox_id, d.host, d.event,
               jsonb_build_object('id', d.id, 'event', d.event, 'webhookId', d.webhook_id,
                   'occurredAt', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'sandbox', {payloadParameter}::jsonb)::text
        FROM (SELECT 'whd-' || gen_random_uuid() AS id, w.id AS webhook_id, x.team_id, x.id AS sandbox_id, x.host, x.event
              FROM (SELECT *, wrenn_sandbox_event(before_state, state, {timedOutParameter}) AS event FROM {written}) AS x
              JOIN wrenn_webhooks AS w ON w.team_id = x.team_id AND w.deleted_at IS NULL AND x.event = ANY (w.events)
              ORDER BY w.id) AS d
        """;

    /// <summary>The sandbox as a delivery's body shows it: the API's names and states.</summary>
    public static string Payload(SandboxRecord record) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["id"] = record.Id,
        ["state"] = SandboxStateType.Of(record.State).ToString().ToUpperInvariant(),
        ["templateId"] = record.TemplateId,
        ["host"] = record.Host,
        ["vcpus"] = record.Vcpus,
        ["memoryMib"] = record.MemoryMib,
        ["createdAt"] = DateTimeType.Format(record.CreatedAt),
        ["expiresAt"] = record.Deadline is { } deadline ? DateTimeType.Format(deadline) : null,
        ["metadata"] = record.Metadata,
        ["error"] = record.Error,
    }, WrennJson.Options);

    /// <summary>Deliveries were queued on this host: its sender looks now rather than at its next poll.</summary>
    public void Queued() => signal.Notify();
}

/// <summary>Wakes this silo's webhook sender.</summary>
public sealed class WebhookSignal
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Notify()
    {
        try
        {
            _signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled: the sender will look once for all of them.
        }
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);
}
