using Wrenn.Cluster.Tests.Grains;

namespace Wrenn.Cluster.Tests;

/// <summary>
/// Why the silo uses Orleans' strongly consistent distributed directory: with it, a grain never
/// has two activations while membership changes, and a silo that dies takes along only its own
/// activations, not those of grains whose directory entry it happened to hold.
/// </summary>
public sealed class DirectoryTests
{
    [Fact]
    public async Task Grains_on_surviving_silos_keep_their_activation_when_another_silo_dies()
    {
        await using var cluster = await WrennTestCluster.StartAsync("directory-survive", silos: 3);
        var keys = Enumerable.Range(0, 200).Select(i => $"survivor-{Guid.NewGuid():N}-{i}").ToList();
        var before = new Dictionary<string, Where>();
        foreach (var key in keys)
            before[key] = await cluster.Grains(0).GetGrain<IProbeGrain>(key).WhereAsync(); // prefer-local: all on silo 0

        await cluster.Cluster.KillSiloAsync(cluster.Silos[2]);
        Assert.True(await WrennTestCluster.EventuallyAsync(
            () => Task.FromResult(cluster.View(0).Values.Count(m => m.Status == Orleans.Runtime.SiloStatus.Active) == 2),
            TimeSpan.FromSeconds(60)), "the killed silo was never declared dead");

        foreach (var key in keys)
        {
            var after = await cluster.Grains(1).GetGrain<IProbeGrain>(key).WhereAsync();
            Assert.Equal(before[key], after);
        }
    }

    [Fact]
    public async Task A_grain_never_has_two_activations_while_silos_join_and_leave()
    {
        await using var cluster = await WrennTestCluster.StartAsync("directory-single", silos: 2);
        var keys = Enumerable.Range(0, 20).Select(i => $"single-{Guid.NewGuid():N}-{i}").ToList();
        var worst = 0;
        using var stop = new CancellationTokenSource();
        var callers = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            var calls = 0;
            while (!stop.IsCancellationRequested)
            {
                var silos = cluster.Silos.Where(s => s.IsActive).ToList();
                var grains = silos[calls++ % silos.Count].ServiceProvider.GetService(typeof(IGrainFactory)) as IGrainFactory;
                try
                {
                    await grains!.GetGrain<IProbeGrain>(keys[(calls + worker) % keys.Count]).WhereAsync();
                }
                catch (Exception) when (!stop.IsCancellationRequested)
                {
                    // Calls into a silo that is stopping may fail; what matters is how many activations exist.
                }
                foreach (var key in keys)
                    worst = Math.Max(worst, ProbeGrain.Live.TryGetValue(key, out var live) ? live.Count : 0);
            }
        })).ToList();

        await Task.Delay(1000);
        await cluster.Cluster.StartAdditionalSiloAsync();
        await Task.Delay(3000);
        await cluster.Cluster.StopSiloAsync(cluster.Silos[1]); // graceful: its activations deactivate and are counted out
        await Task.Delay(3000);
        await cluster.Cluster.StartAdditionalSiloAsync();
        await Task.Delay(3000);
        stop.Cancel();
        await Task.WhenAll(callers);

        Assert.True(worst <= 1, $"a grain had {worst} activations at once");
        Assert.All(keys, key => Assert.True(ProbeGrain.Live.TryGetValue(key, out var live) && live.Count == 1, $"{key} should have exactly one activation now"));
    }
}
