using Wrenn.Silo.Runtime.State;
using Wrenn.Silo.Runtime.Testing;
using Wrenn.Silo.Runtime.Tests.Grains;
using Wrenn.Testing.Postgres;

namespace Wrenn.Silo.Runtime.Tests;

/// <summary>Durable grain state in PostgreSQL with an etag.</summary>
public sealed class StateTests
{
    [Fact]
    public async Task State_survives_deactivation_and_a_whole_cluster_restart()
    {
        var database = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("state-restart");
        await using (var first = await TestCluster.StartAsync(database, 2, TestGrains.Register, s => s.AddProbe()))
        {
            await first[0].Grains.Get<IStateGrain>("kept").SetAsync("before restart");
            await first[0].DeactivateAllAsync();
            Assert.Equal("before restart", await first[1].Grains.Get<IStateGrain>("kept").GetAsync());
        }

        await using var second = await TestCluster.StartAsync(database, 2, TestGrains.Register, s => s.AddProbe());
        Assert.Equal("before restart", await second[1].Grains.Get<IStateGrain>("kept").GetAsync());
        Assert.Equal(2, await second[0].Grains.Get<IStateGrain>("kept").SetAsync("after restart")); // etag 1 -> 2
    }

    [Fact]
    public async Task A_write_from_a_stale_copy_is_refused_and_the_newer_value_kept()
    {
        await using var cluster = await Clusters.StartAsync("state-conflict", silos: 2);
        await cluster[0].Grains.Get<IStateGrain>("raced").GetAsync();
        var grain = cluster[1].Grains.Get<IStateGrain>("raced"); // the error crosses silos and keeps its type
        await grain.SetAsync("first");

        var error = await Assert.ThrowsAsync<InconsistentStateException>(() => grain.WriteStaleCopyAsync("stale"));
        Assert.Contains("was changed elsewhere", error.Message);
        Assert.Equal("moves the etag on", await grain.GetAsync());
    }
}
