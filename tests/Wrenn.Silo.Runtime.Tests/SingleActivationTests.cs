using Wrenn.Silo.Runtime.Tests.Grains;

namespace Wrenn.Silo.Runtime.Tests;

/// <summary>One activation per grain in the whole cluster, however the calls arrive.</summary>
public sealed class SingleActivationTests
{
    [Fact]
    public async Task A_thousand_concurrent_calls_from_three_silos_reach_one_activation_and_count_exactly_a_thousand()
    {
        await using var cluster = await Clusters.StartAsync("single-activation", silos: 3);
        var calls = Enumerable.Range(0, 1000)
            .Select(i => Task.Run(() => cluster[i % 3].Grains.Get<ICounterGrain>("shared").IncrementAsync()))
            .ToArray();
        var results = await Task.WhenAll(calls);

        // Every increment saw a distinct count: one activation, one turn at a time.
        Assert.Equal(Enumerable.Range(1, 1000), results.Order());
        Assert.Equal(1, cluster.Probe().MaxLiveActivationsOfOneKey);
        Assert.Equal(1, cluster.Silos.Sum(s => s.ActivationCount));

        var host = cluster.Silos.Single(s => s.ActivationCount == 1);
        var others = cluster.Silos.Where(s => s != host).ToList();
        // The calls made on the other two silos (two thirds) went to the host.
        Assert.True(others.Sum(s => s.Stats.ForwardedCalls) >= 666, $"forwarded {others.Sum(s => s.Stats.ForwardedCalls)}");
        Assert.Equal(0, host.Stats.ForwardedCalls);

        // The count lives in memory and is written at deactivation: read it back through a new activation.
        await host.DeactivateAllAsync();
        Assert.Equal(1000, await cluster[1].Grains.Get<ICounterGrain>("shared").GetAsync());
    }

    [Fact]
    public async Task An_idle_activation_deactivates_and_the_next_call_makes_a_new_one()
    {
        await using var cluster = await Clusters.StartAsync("idle", silos: 1, runtime: new RuntimeOptions { IdleTimeout = TimeSpan.FromMilliseconds(400) });
        var counter = cluster[0].Grains.Get<ICounterGrain>("idle");
        await counter.IncrementAsync();
        var first = await counter.WhereAsync();

        Assert.True(await Clusters.EventuallyAsync(() => Task.FromResult(cluster[0].ActivationCount == 0), TimeSpan.FromSeconds(10)), "the idle activation did not deactivate");
        var second = await counter.WhereAsync();

        Assert.NotEqual(first.Activation, second.Activation);
        Assert.Equal(1, await counter.GetAsync()); // written by the deactivation hook, read by the new activation
    }

    [Fact]
    public async Task A_pinned_grain_that_was_never_pinned_is_not_found_and_nothing_is_created()
    {
        await using var cluster = await Clusters.StartAsync("pinned-missing", silos: 2);

        var error = await Assert.ThrowsAsync<Wrenn.Grains.Runtime.GrainException>(() => cluster[0].Grains.Get<IPinnedGrain>("nobody").WhereAsync());

        Assert.Equal("NOT_FOUND", error.Code);
        Assert.Equal(0, cluster.Silos.Sum(s => s.ActivationCount));
        Assert.Equal("silo-2", await cluster[0].Grains.Get<IPinnedGrain>("somebody", "silo-2").WhereAsync());
    }
}
