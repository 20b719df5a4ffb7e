using System.Diagnostics;
using Wrenn.Grains.Runtime;
using Wrenn.Silo.Runtime.Cluster;
using Wrenn.Silo.Runtime.Testing;
using Wrenn.Silo.Runtime.Tests.Grains;

namespace Wrenn.Silo.Runtime.Tests;

/// <summary>Silos that die, stall or come back: failure detection, re-activation and fencing.</summary>
public sealed class MembershipTests
{
    private static readonly TimeSpan Detection = TestCluster.FastFailureDetection.SuspectAfter;

    [Fact]
    public async Task A_killed_silos_grains_come_back_elsewhere_and_its_pinned_grains_report_unavailable_then_lost()
    {
        await using var cluster = await Clusters.StartAsync("kill", silos: 3);
        var victim = cluster[2];
        var keys = Enumerable.Range(0, 5).Select(i => $"k{i}").ToList();
        foreach (var key in keys)
            await victim.Grains.Get<ICounterGrain>(key).IncrementAsync(); // activates on the victim (prefer local)
        Assert.Equal("silo-3", await cluster[0].Grains.Get<IPinnedGrain>("p", "silo-3").WhereAsync());

        await cluster.KillAsync(victim);
        var killedAt = Stopwatch.StartNew();
        var survivor = cluster[0].Grains;

        var outcomes = new List<string>();
        var back = await Clusters.EventuallyAsync(async () =>
        {
            outcomes.Add(await OutcomeAsync(() => survivor.Get<IPinnedGrain>("p").WhereAsync()));
            foreach (var key in keys)
            {
                if (await OutcomeAsync(() => survivor.Get<ICounterGrain>(key).WhereAsync()) != "ok")
                    return false;
            }
            return true;
        }, Detection * 5);

        Assert.True(back, $"the killed silo's grains were not callable within {Detection * 5} ({killedAt.Elapsed})");
        foreach (var key in keys)
            Assert.NotEqual("silo-3", (await survivor.Get<ICounterGrain>(key).WhereAsync()).Silo);

        Assert.True(await Clusters.EventuallyAsync(async () =>
        {
            outcomes.Add(await OutcomeAsync(() => survivor.Get<IPinnedGrain>("p").WhereAsync()));
            return outcomes[^1] == nameof(GrainLostException);
        }, Detection * 5), $"the pinned grain never reported lost: {string.Join(", ", outcomes.Distinct())}");
        Assert.Equal(nameof(GrainUnavailableException), outcomes[0]);

        // The silo comes back under its name, as a new incarnation: its pinned grain is there again.
        await cluster.AddSiloAsync("silo-3");
        Assert.True(await Clusters.EventuallyAsync(async () => await OutcomeAsync(() => survivor.Get<IPinnedGrain>("p").WhereAsync()) == "ok", Detection * 5));
        Assert.Equal("silo-3", await survivor.Get<IPinnedGrain>("p").WhereAsync());
    }

    [Fact]
    public async Task A_silo_declared_dead_while_stalled_cannot_serve_its_old_activations_and_rejoins_as_a_new_incarnation()
    {
        await using var cluster = await Clusters.StartAsync("fence", silos: 3);
        var stalled = cluster[0];
        var before = await stalled.Grains.Get<ICounterGrain>("fenced").WhereAsync();
        Assert.Equal(stalled.Name, before.Silo);
        var oldIncarnation = stalled.Incarnation;

        await stalled.PauseHeartbeatsAsync();
        try
        {
            Assert.True(await Clusters.EventuallyAsync(
                () => Task.FromResult(cluster[1].Cluster.Any(s => s.Incarnation == oldIncarnation && s.Status == SiloStatus.Dead)),
                Detection * 5), "the stalled silo was not declared dead");

            var elsewhere = await cluster[1].Grains.Get<ICounterGrain>("fenced").WhereAsync();
            Assert.NotEqual(before.Activation, elsewhere.Activation);
            Assert.NotEqual(stalled.Name, elsewhere.Silo);

            // Asked through the stalled silo itself, the call must not reach the old activation.
            var viaStalled = await stalled.Grains.Get<ICounterGrain>("fenced").WhereAsync();
            Assert.Equal(elsewhere.Activation, viaStalled.Activation);
        }
        finally
        {
            stalled.ResumeHeartbeats();
        }

        Assert.True(await Clusters.EventuallyAsync(() => Task.FromResult(stalled.Incarnation != oldIncarnation), Detection * 5), "the stalled silo did not rejoin");
        Assert.Equal(0, stalled.ActivationCount);
        var after = await stalled.Grains.Get<ICounterGrain>("fenced").WhereAsync();
        Assert.NotEqual(before.Activation, after.Activation);
    }

    private static async Task<string> OutcomeAsync<T>(Func<Task<T>> call)
    {
        try
        {
            await call();
            return "ok";
        }
        catch (GrainException e)
        {
            return e.GetType().Name;
        }
    }
}
