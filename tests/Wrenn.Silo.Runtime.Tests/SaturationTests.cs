using System.Diagnostics;
using Wrenn.Silo.Runtime.Cluster;
using Wrenn.Silo.Runtime.Tests.Grains;

namespace Wrenn.Silo.Runtime.Tests;

/// <summary>
/// Saturates every core on purpose, so it runs alone: the other tests of this assembly would
/// otherwise be measured under a load they do not ask for.
/// </summary>
[Collection(nameof(RunsAlone))]
public sealed class SaturationTests
{
    [Fact]
    public async Task No_live_silo_is_declared_dead_while_both_cores_are_saturated_for_a_minute()
    {
        await using var cluster = await Clusters.StartAsync("saturated", silos: 3);
        var incarnations = cluster.Silos.Select(s => s.Incarnation).ToHashSet();
        var burners = Enumerable.Range(0, 2 * Environment.ProcessorCount).Select(_ => Process.Start("sh", ["-c", "while :; do :; done"])).ToList();
        try
        {
            var calls = 0;
            var until = Stopwatch.StartNew();
            while (until.Elapsed < TimeSpan.FromMinutes(1))
            {
                await cluster[calls % 3].Grains.Get<ICounterGrain>("busy").IncrementAsync();
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

        await cluster[0].Grains.Get<ICounterGrain>("busy").IncrementAsync();
        foreach (var silo in cluster.Silos)
        {
            Assert.Contains(silo.Incarnation, incarnations);
            Assert.DoesNotContain(silo.Cluster, s => incarnations.Contains(s.Incarnation) && s.Status != SiloStatus.Active);
        }
    }
}

[CollectionDefinition(nameof(RunsAlone), DisableParallelization = true)]
public sealed class RunsAlone;
