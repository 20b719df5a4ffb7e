using System.Diagnostics;
using Orleans.Runtime;
using Wrenn.Cluster.Tests.Grains;

namespace Wrenn.Cluster.Tests;

/// <summary>Failure detection on Wrenn's membership table: a killed silo is declared dead; a busy one is not.</summary>
public sealed class MembershipTests
{
    [Fact]
    public async Task A_killed_silo_is_declared_dead_by_the_others_and_its_grains_come_back_on_a_survivor()
    {
        await using var cluster = await WrennTestCluster.StartAsync("membership-kill", silos: 3);
        var victim = cluster.Silos[2];
        var key = $"moved-{Guid.NewGuid():N}";
        Assert.Equal(victim.Name, (await cluster.Grains(2).GetGrain<IProbeGrain>(key).WhereAsync()).Silo);

        await cluster.Cluster.KillSiloAsync(victim);
        Assert.True(await WrennTestCluster.EventuallyAsync(
            () => Task.FromResult(cluster.View(0).TryGetValue(victim.SiloAddress, out var m) && m.Status == SiloStatus.Dead),
            TimeSpan.FromSeconds(60)), "the killed silo was not declared dead within a minute");
        var after = await cluster.Grains(0).GetGrain<IProbeGrain>(key).WhereAsync();
        Assert.NotEqual(victim.Name, after.Silo);
    }
}

/// <summary>Saturates every core on purpose, so it runs alone (others would be measured under a load they did not ask for).</summary>
[Collection(nameof(RunsAlone))]
public sealed class SaturationTests
{
    [Fact]
    public async Task No_live_silo_is_declared_dead_while_both_cores_are_saturated_for_a_minute()
    {
        await using var cluster = await WrennTestCluster.StartAsync("saturated", silos: 3);
        var addresses = cluster.Silos.Select(s => s.SiloAddress).ToHashSet();
        var burners = Enumerable.Range(0, 2 * Environment.ProcessorCount).Select(_ => Process.Start("sh", ["-c", "while :; do :; done"])).ToList();
        var calls = 0;
        try
        {
            var until = Stopwatch.StartNew();
            while (until.Elapsed < TimeSpan.FromMinutes(1))
            {
                await cluster.Grains(calls % 3).GetGrain<IProbeGrain>($"busy-{calls % 7}").WhereAsync();
                calls++;
                await Task.Delay(200);
            }
        }
        finally
        {
            foreach (var burner in burners)
            {
                burner.Kill();
                burner.Dispose();
            }
        }

        Assert.True(calls > 10, $"only {calls} calls went through in a minute");
        for (var observer = 0; observer < 3; observer++)
        {
            var view = cluster.View(observer);
            Assert.All(addresses, a => Assert.Equal(SiloStatus.Active, view[a].Status));
        }
    }
}

[CollectionDefinition(nameof(RunsAlone), DisableParallelization = true)]
public sealed class RunsAlone;
