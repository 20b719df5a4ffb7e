using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.GraphQL.Backend;
using Wrenn.Silo.Cluster.Events;
using Wrenn.Silo.Data;
using Wrenn.Silo.Persistence.Migrations;
using Wrenn.Silo.Webhooks;
using Wrenn.Testing.Postgres;

namespace Wrenn.Silo.Tests.Webhooks;

/// <summary>
/// The webhook outbox on a real PostgreSQL: the sandbox store queues a delivery per event and
/// webhook in the same statement as the record write, and the sender's queries hand out each
/// receiver's deliveries of a sandbox one at a time, in order. (The change feed, which needs a
/// cluster, is replaced by one that drops what it is given; nothing here reads it.)
/// </summary>
public sealed class SandboxEventOutboxTests : IAsyncLifetime
{
    private NpgsqlDataSource _data = null!;
    private WebhookStore _webhooks = null!;

    public async Task InitializeAsync()
    {
        _data = NpgsqlDataSource.Create(await (await PostgresServer.SharedAsync()).CreateDatabaseAsync($"outbox-{Guid.NewGuid():N}"[..20]));
        await new SchemaMigrator(_data, NullLogger<SchemaMigrator>.Instance).ApplyAsync(WrennSchema.Migrations, CancellationToken.None);
        _webhooks = new WebhookStore(_data);
    }

    public async Task DisposeAsync() => await _data.DisposeAsync();

    private static SandboxRecord NewRecord(string team) => new($"sb-{Guid.NewGuid():D}", team, "tpl-1", "host-a", SandboxState.Creating, 1, 256,
        DateTimeOffset.UtcNow, null, new Dictionary<string, string> { ["k"] = "v" }, null, null, 0);

    private async Task<List<(string Event, string Webhook, string Body)>> DeliveriesOfAsync(string sandboxId)
    {
        await using var command = _data.CreateCommand("SELECT event, webhook_id, body FROM wrenn_webhook_deliveries WHERE sandbox_id = $1 ORDER BY seq");
        command.Parameters.Add(new() { Value = sandboxId });
        var found = new List<(string, string, string)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            found.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));
        return found;
    }

    [Fact]
    public async Task Each_state_change_queues_its_event_for_the_teams_webhooks_that_asked_for_it_in_the_same_write()
    {
        var all = await _webhooks.CreateAsync("team-a", "http://127.0.0.1:1/all", Enum.GetValues<SandboxEventKind>(), "0123456789abcdef", CancellationToken.None);
        var some = await _webhooks.CreateAsync("team-a", "http://127.0.0.1:1/some", [SandboxEventKind.Paused, SandboxEventKind.TimedOut], "0123456789abcdef", CancellationToken.None);
        await _webhooks.CreateAsync("team-b", "http://127.0.0.1:1/other-team", Enum.GetValues<SandboxEventKind>(), "0123456789abcdef", CancellationToken.None);
        var store = new SandboxStore(_data, new DroppingChangeFeed(), new SandboxEventOutbox(new WebhookSignal()));

        var record = await store.InsertAsync(NewRecord("team-a"), CancellationToken.None);
        record = await store.UpdateAsync(record with { State = SandboxState.Running }, CancellationToken.None);
        record = await store.UpdateAsync(record with { Deadline = DateTimeOffset.UtcNow.AddMinutes(5) }, CancellationToken.None); // no change of state: no event
        record = await store.UpdateAsync(record with { State = SandboxState.Paused }, CancellationToken.None);
        record = await store.UpdateAsync(record with { State = SandboxState.Running }, CancellationToken.None);
        await store.UpdateAsync(record with { State = SandboxState.Destroyed, Error = "its timeout passed" }, CancellationToken.None, timedOut: true);

        var queued = await DeliveriesOfAsync(record.Id);
        Assert.Equal(["CREATED", "RUNNING", "PAUSED", "RESUMED", "TIMED_OUT"], queued.Where(d => d.Webhook == all.Id).Select(d => d.Event).ToArray());
        Assert.Equal(["PAUSED", "TIMED_OUT"], queued.Where(d => d.Webhook == some.Id).Select(d => d.Event).ToArray());
        Assert.Equal(7, queued.Count); // team-b's webhook heard nothing of team-a's sandbox
        var paused = JsonNode.Parse(queued.First(d => d.Event == "PAUSED").Body)!;
        Assert.Equal(("PAUSED", record.Id, "v"), (paused["sandbox"]!["state"]!.GetValue<string>(), paused["sandbox"]!["id"]!.GetValue<string>(), paused["sandbox"]!["metadata"]!["k"]!.GetValue<string>()));
        Assert.StartsWith("whd-", paused["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_write_that_loses_its_race_queues_nothing()
    {
        await _webhooks.CreateAsync("team-a", "http://127.0.0.1:1/all", Enum.GetValues<SandboxEventKind>(), "0123456789abcdef", CancellationToken.None);
        var store = new SandboxStore(_data, new DroppingChangeFeed(), new SandboxEventOutbox(new WebhookSignal()));
        var record = await store.InsertAsync(NewRecord("team-a"), CancellationToken.None);
        await store.UpdateAsync(record with { State = SandboxState.Running }, CancellationToken.None);

        var stale = await Assert.ThrowsAsync<GrainException>(() => store.UpdateAsync(record with { State = SandboxState.Failed }, CancellationToken.None));
        Assert.Equal(ErrorCodes.Internal, stale.Code);
        Assert.Equal(["CREATED", "RUNNING"], (await DeliveriesOfAsync(record.Id)).Select(d => d.Event).ToArray());
    }

    [Fact]
    public async Task With_webhooks_off_the_store_queues_nothing()
    {
        await _webhooks.CreateAsync("team-a", "http://127.0.0.1:1/all", Enum.GetValues<SandboxEventKind>(), "0123456789abcdef", CancellationToken.None);
        var store = new SandboxStore(_data, new DroppingChangeFeed());
        var record = await store.InsertAsync(NewRecord("team-a"), CancellationToken.None);
        await store.UpdateAsync(record with { State = SandboxState.Running }, CancellationToken.None);
        Assert.Empty(await DeliveriesOfAsync(record.Id));
    }

    [Theory]
    [InlineData(null, "Creating", false, "CREATED")]
    [InlineData("Creating", "Running", false, "RUNNING")]
    [InlineData("Creating", "Failed", false, "FAILED")]
    [InlineData("Running", "Paused", false, "PAUSED")]
    [InlineData("Paused", "Running", false, "RESUMED")]
    [InlineData("Running", "Destroyed", false, "DESTROYED")]
    [InlineData("Running", "Destroyed", true, "TIMED_OUT")]
    [InlineData("Paused", "Destroyed", true, "TIMED_OUT")]
    [InlineData("Running", "Lost", false, "LOST")]
    [InlineData("Running", "Failed", false, "FAILED")]
    [InlineData("Running", "Running", false, null)]
    public async Task A_change_of_state_is_the_event_webhooks_name(string? before, string after, bool timedOut, string? expected)
    {
        await using var command = _data.CreateCommand("SELECT wrenn_sandbox_event($1, $2, $3)");
        command.Parameters.Add(new() { Value = (object?)before ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = after });
        command.Parameters.Add(new() { Value = timedOut });
        var result = await command.ExecuteScalarAsync();
        Assert.Equal(expected, result as string);
    }

    [Fact]
    public async Task The_sender_gets_a_receivers_events_of_one_sandbox_one_at_a_time_in_order_and_other_sandboxes_alongside()
    {
        await _webhooks.CreateAsync("team-a", "http://127.0.0.1:1/all", Enum.GetValues<SandboxEventKind>(), "0123456789abcdef", CancellationToken.None);
        var store = new SandboxStore(_data, new DroppingChangeFeed(), new SandboxEventOutbox(new WebhookSignal()));
        var first = await store.InsertAsync(NewRecord("team-a"), CancellationToken.None);
        await store.UpdateAsync(first with { State = SandboxState.Running }, CancellationToken.None);
        var second = await store.InsertAsync(NewRecord("team-a"), CancellationToken.None);

        var due = await _webhooks.DueAsync("host-a", 100, CancellationToken.None);
        Assert.Equal(2, due.Count); // the CREATED of each sandbox; the first's RUNNING waits behind its CREATED
        Assert.All(due, d => Assert.Equal("CREATED", JsonNode.Parse(d.Body)!["event"]!.GetValue<string>()));
        Assert.Empty(await _webhooks.DueAsync("host-b", 100, CancellationToken.None));

        // A failed attempt keeps the line waiting until it is due again; once delivered, the next one is due.
        var head = due.Single(d => d.Body.Contains(first.Id));
        await _webhooks.AttemptFailedAsync(head.Id, 500, "the receiver answered 500", DateTimeOffset.UtcNow.AddMinutes(1), CancellationToken.None);
        Assert.DoesNotContain(await _webhooks.DueAsync("host-a", 100, CancellationToken.None), d => d.Body.Contains(first.Id));
        await _webhooks.DeliveredAsync(head.Id, 200, CancellationToken.None);
        var next = (await _webhooks.DueAsync("host-a", 100, CancellationToken.None)).Single(d => d.Body.Contains(first.Id));
        Assert.Equal("RUNNING", JsonNode.Parse(next.Body)!["event"]!.GetValue<string>());
        Assert.Contains(await _webhooks.DueAsync("host-a", 100, CancellationToken.None), d => d.Body.Contains(second.Id));
    }

    /// <summary>The change feed without listeners: the store publishes to it; these tests read the database.</summary>
    private sealed class DroppingChangeFeed : ISandboxChangeFeed
    {
        public void Publish(SandboxChange change)
        {
        }

        public SandboxChangeSubscription Subscribe(string teamId, string? sandboxId, CancellationToken cancellationToken) =>
            new(Channel.CreateUnbounded<SandboxChange>().Reader, () => { });
    }
}
