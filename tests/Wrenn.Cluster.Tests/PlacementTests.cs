using System.Diagnostics;
using Orleans.Runtime;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Cluster;

namespace Wrenn.Cluster.Tests;

/// <summary>
/// Host-affine placement: a host's grains activate on that host's silo only; while it is absent
/// calls fail at once with UNAVAILABLE naming it, and nothing activates elsewhere; an id that
/// names no sandbox is NOT_FOUND and activates nothing; a host that comes back under its name
/// gets its grains back.
/// </summary>
public sealed class PlacementTests
{
    private static readonly Caller System = Caller.System;

    [Fact]
    public async Task A_host_grain_activates_on_its_own_silo_whichever_silo_calls_it()
    {
        await using var cluster = await WrennTestCluster.StartAsync("placement-own", silos: 3);
        foreach (var owner in Enumerable.Range(0, 3))
        {
            var host = cluster.Name(owner);
            var info = await cluster.Grains((owner + 1) % 3).GetGrain<IHostSlotGrain>(host).GetAsync(System);
            Assert.Equal(host, info.Name);
            Assert.Equal(cluster.Silos[owner].SiloAddress, await ActivationSiloAsync(cluster, cluster.Grains(0).GetGrain<IHostSlotGrain>(host)));
        }
    }

    [Fact]
    public async Task Ids_that_name_no_sandbox_or_no_live_host_fail_at_once_and_activate_nothing()
    {
        await using var cluster = await WrennTestCluster.StartAsync("placement-refuse", silos: 2);
        var grains = cluster.Grains(0);

        var unknown = grains.GetGrain<ISandboxGrain>($"sb-{Guid.NewGuid():D}");
        var notFound = await Assert.ThrowsAsync<GrainException>(() => unknown.GetAsync(System));
        Assert.Equal(ErrorCodes.NotFound, notFound.Code);

        var elsewhere = grains.GetGrain<IHostSlotGrain>("host-that-is-not-here");
        var unavailable = await Assert.ThrowsAsync<GrainException>(() => elsewhere.GetAsync(System));
        Assert.Equal(ErrorCodes.Unavailable, unavailable.Code);
        Assert.Contains("host-that-is-not-here", unavailable.Message);

        // A sandbox whose record places it on a host that is not in the cluster.
        var orphan = $"sb-{Guid.NewGuid():D}";
        await using (var insert = cluster.Database.Main.CreateCommand(
            "INSERT INTO wrenn_sandboxes (id, team_id, template_id, host, state, vcpus, memory_mib) VALUES ($1, 't', 'tpl', 'host-gone', 'Running', 1, 256)"))
        {
            insert.Parameters.Add(new() { Value = orphan });
            await insert.ExecuteNonQueryAsync();
        }
        var gone = await Assert.ThrowsAsync<GrainException>(() => grains.GetGrain<ISandboxGrain>(orphan).GetAsync(System));
        Assert.Equal((ErrorCodes.Unavailable, true), (gone.Code, gone.Message.Contains("host-gone")));

        Assert.Null(await ActivationSiloAsync(cluster, unknown));
        Assert.Null(await ActivationSiloAsync(cluster, elsewhere));
        Assert.Null(await ActivationSiloAsync(cluster, grains.GetGrain<ISandboxGrain>(orphan)));
    }

    [Fact]
    public async Task While_a_host_is_down_its_grains_answer_unavailable_without_hanging_and_never_activate_elsewhere_then_come_back_with_it()
    {
        await using var cluster = await WrennTestCluster.StartAsync("placement-down", silos: 3);
        var victim = cluster.Silos[2];
        var host = victim.Name;
        var grain = cluster.Grains(0).GetGrain<IHostSlotGrain>(host);
        await grain.ReserveAsync(System, "sb-kept", 1, 256, 10);

        await cluster.Cluster.KillSiloAsync(victim);
        var answers = new List<string>();
        var declaredDead = Stopwatch.StartNew();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && !answers.Contains("UNAVAILABLE-after-death"))
        {
            var call = Stopwatch.StartNew();
            try
            {
                await grain.GetAsync(System);
                answers.Add("ok");
            }
            catch (GrainException e) when (e.Code == ErrorCodes.Unavailable)
            {
                Assert.Contains(host, e.Message);
                var dead = cluster.View(0).Values.Any(m => m.Name == host && m.Status == SiloStatus.Dead);
                answers.Add(dead ? "UNAVAILABLE-after-death" : "UNAVAILABLE");
            }
            Assert.True(call.Elapsed < TimeSpan.FromSeconds(35), $"a call to a grain of a dead host hung for {call.Elapsed}");
            await Task.Delay(250);
        }
        Assert.Contains("UNAVAILABLE-after-death", answers);
        Assert.Null(await ActivationSiloAsync(cluster, grain));

        // The host comes back under its name: its grain and its stored reservations are there again.
        await using var back = await cluster.Cluster.StartSiloAsync(2, cluster.Cluster.Options);
        Assert.Equal(host, back.Name);
        Assert.True(await WrennTestCluster.EventuallyAsync(async () =>
        {
            try
            {
                return (await grain.GetAsync(System)).Sandboxes == 1;
            }
            catch (GrainException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60)), "the host's grain did not come back with its silo");
        Assert.Equal(back.SiloAddress, await ActivationSiloAsync(cluster, grain));
        await back.StopSiloAsync(stopGracefully: true);
    }

    private static async Task<SiloAddress?> ActivationSiloAsync(WrennTestCluster cluster, IAddressable grain)
    {
        var management = cluster.Grains(0).GetGrain<IManagementGrain>(0);
        return await management.GetActivationAddress(grain);
    }
}
