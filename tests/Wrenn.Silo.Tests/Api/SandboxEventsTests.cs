using Wrenn.Grains.Sandboxes;

namespace Wrenn.Silo.Tests.Api;

/// <summary>sandboxEvents is pushed from the sandbox records' writes: a subscriber waits without asking anything, and hears a change at once.</summary>
[Collection(ApiCollection.Name)]
public sealed class SandboxEventsTests(ApiFixture api)
{
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    /// <summary>
    /// graphql-transport-ws does not say when a subscription is listening: new sandboxes are written until
    /// one is heard (the first is, unless the subscription was not set up yet); returns the one heard.
    /// </summary>
    private static async Task<(string Id, string State)> FirstEventAsync(ApiTeam team, GraphQLWsClient ws)
    {
        for (var attempt = 0; attempt < 30; attempt++)
        {
            await team.InsertSandboxAsync(SandboxState.Creating);
            if (await ws.ReceiveAsync(TimeSpan.FromSeconds(1)) is { } message)
            {
                var e = message["payload"]?["data"]?["sandboxEvents"];
                Assert.True(message["type"]?.GetValue<string>() == "next" && e is not null, message.ToJsonString());
                return (e!["sandbox"]!["id"]!.GetValue<string>(), e["state"]!.GetValue<string>());
            }
        }
        throw new Xunit.Sdk.XunitException("The subscription heard none of 30 new sandboxes.");
    }

    [Fact]
    public async Task An_idle_team_subscriber_makes_no_backend_calls_and_hears_each_state_change()
    {
        var team = await ApiTeam.CreateAsync(api);
        await using var ws = await GraphQLWsClient.ConnectAsync(api.BaseAddress, team.Key);
        await ws.SubscribeAsync("events", "subscription { sandboxEvents { state sandbox { id } } }");
        // An event proves the subscription listens before the idle time is measured.
        var (heardId, heardState) = await FirstEventAsync(team, ws);
        Assert.Equal("STARTING", heardState);
        var first = (await api.Silo.Host.Store.GetAsync(heardId, CancellationToken.None))!;

        api.Backend.Reset();
        Assert.Null(await ws.ReceiveAsync(Idle));
        Assert.Empty(api.Backend.Calls);

        // A write that is not a change of state is not an event; the next change is.
        var record = await api.Silo.Host.Store.UpdateAsync(first with { Deadline = DateTimeOffset.UtcNow.AddHours(1) }, CancellationToken.None);
        await api.Silo.Host.Store.UpdateAsync(record with { State = SandboxState.Running }, CancellationToken.None);
        var running = await ws.ReceiveAsync(Generous);
        Assert.Equal("RUNNING", running?["payload"]?["data"]?["sandboxEvents"]?["state"]?.GetValue<string>());
        Assert.Empty(api.Backend.Calls);
    }

    [Fact]
    public async Task A_real_sandbox_subscriber_gets_its_state_asks_nothing_while_idle_and_hears_its_destruction()
    {
        var (_, created) = await api.GraphQLAsync(api.AdminKey, "mutation { createSandbox(input: {template: \"base\"}) { id } }");
        var id = created["data"]!["createSandbox"]!["id"]!.GetValue<string>();
        await using var ws = await GraphQLWsClient.ConnectAsync(api.BaseAddress, api.AdminKey);
        await ws.SubscribeAsync("one", "subscription ($id: ID) { sandboxEvents(sandboxId: $id) { state sandbox { id } } }", new { id });
        var now = await ws.ReceiveAsync(Generous);
        Assert.Equal("RUNNING", now?["payload"]?["data"]?["sandboxEvents"]?["state"]?.GetValue<string>());

        api.Backend.Reset();
        Assert.Null(await ws.ReceiveAsync(Idle));
        Assert.Empty(api.Backend.Calls);

        var (_, destroyed) = await api.GraphQLAsync(api.AdminKey, "mutation ($id: ID!) { destroySandbox(id: $id) }", new { id });
        Assert.True(destroyed["data"]!["destroySandbox"]!.GetValue<bool>());
        var gone = await ws.ReceiveAsync(Generous);
        Assert.Equal(("DESTROYED", id), (gone?["payload"]?["data"]?["sandboxEvents"]?["state"]?.GetValue<string>(),
            gone?["payload"]?["data"]?["sandboxEvents"]?["sandbox"]?["id"]?.GetValue<string>()));
    }

    [Fact]
    public async Task Another_teams_changes_never_reach_a_subscriber()
    {
        var mine = await ApiTeam.CreateAsync(api);
        var theirs = await ApiTeam.CreateAsync(api);
        await using var ws = await GraphQLWsClient.ConnectAsync(api.BaseAddress, mine.Key);
        await ws.SubscribeAsync("events", "subscription { sandboxEvents { state sandbox { id } } }");
        await FirstEventAsync(mine, ws);
        await theirs.InsertSandboxAsync(SandboxState.Creating);
        Assert.Null(await ws.ReceiveAsync(Idle));
    }
}
