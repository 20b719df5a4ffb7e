using Orleans.Runtime;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Grains;

namespace Wrenn.Cluster.Tests;

/// <summary>
/// A host reserves a sandbox at what it costs the host (its guest memory plus the VMM's per-sandbox
/// overhead), shows that in its reserved capacity, and refuses a create that the reservations fit
/// but the machine's MemAvailable (less the margin) does not, naming what was short. The test
/// cluster's hosts offer 8 vCPUs, 8192 MiB and a margin of 1024 MiB (WrennTestCluster).
/// </summary>
public sealed class HostCapacityTests
{
    private static readonly Caller System = Caller.System;

    [Fact]
    public async Task A_reservation_counts_the_vmm_overhead_beside_the_guest_memory_and_the_host_shows_it_reserved()
    {
        await using var cluster = await WrennTestCluster.StartAsync("capacity-overhead", silos: 1, facts: new HostFacts("/tmp", vmmOverheadMib: 60, availableMemoryMib: () => 100_000));
        var host = cluster.Grains(0).GetGrain<IHostSlotGrain>(cluster.Name(0));

        await host.ReserveAsync(System, "sb-one", 1, 256, 10);
        await host.ReserveAsync(System, "sb-one", 1, 256, 10); // the same sandbox again: reserved once
        await host.ReserveAsync(System, "sb-two", 1, 512, 10);

        var info = await host.GetAsync(System);
        Assert.Equal((2, 256 + 60 + 512 + 60, 20L, 2), (info.Reserved.Vcpus, info.Reserved.MemoryMib, info.Reserved.DiskMib, info.Sandboxes));
        await host.ReleaseAsync(System, "sb-one");
        Assert.Equal(512 + 60, (await host.GetAsync(System)).Reserved.MemoryMib);
    }

    [Fact]
    public async Task The_overhead_makes_the_host_full_sooner_and_the_refusal_names_guest_and_vmm_memory()
    {
        // 1900 MiB guests: four fit 8192 MiB at the guest size alone (7600), three with 256 MiB of overhead each (6468; a fourth would be 8624).
        await using var cluster = await WrennTestCluster.StartAsync("capacity-full", silos: 1, facts: new HostFacts("/tmp", vmmOverheadMib: 256, availableMemoryMib: () => 100_000));
        var host = cluster.Grains(0).GetGrain<IHostSlotGrain>(cluster.Name(0));
        for (var i = 0; i < 3; i++)
            await host.ReserveAsync(System, $"sb-{i}", 1, 1900, 10);

        var refused = await Assert.ThrowsAsync<GrainException>(() => host.ReserveAsync(System, "sb-3", 1, 1900, 10));
        Assert.Equal(ErrorCodes.ResourceExhausted, refused.Code);
        Assert.Contains("2156 MiB of memory asked (1900 for the guest, 256 for its VMM), 1724 of 8192 MiB free", refused.Message);
        Assert.Equal(3, (await host.GetAsync(System)).Sandboxes);
    }

    [Fact]
    public async Task A_create_the_reservations_fit_is_refused_when_the_machine_has_less_memory_available_than_it_would_cost()
    {
        var available = 1024 + 300; // MemAvailable: the margin plus 300 MiB
        await using var cluster = await WrennTestCluster.StartAsync("capacity-available", silos: 1, facts: new HostFacts("/tmp", vmmOverheadMib: 60, availableMemoryMib: () => available));
        var host = cluster.Grains(0).GetGrain<IHostSlotGrain>(cluster.Name(0));

        await host.ReserveAsync(System, "sb-fits", 1, 128, 10); // 188 MiB ≤ 300
        var refused = await Assert.ThrowsAsync<GrainException>(() => host.ReserveAsync(System, "sb-short", 1, 256, 10)); // 316 MiB > 300
        Assert.Equal(ErrorCodes.ResourceExhausted, refused.Code);
        Assert.Contains("316 MiB of memory asked (256 for the guest, 60 for its VMM), but the machine has only 300 MiB available beyond its 1024 MiB margin (MemAvailable)", refused.Message);
        Assert.Equal(1, (await host.GetAsync(System)).Sandboxes);

        available = 1024 + 400; // memory freed elsewhere on the host: the same create fits now
        await host.ReserveAsync(System, "sb-short", 1, 256, 10);
        Assert.Equal(188 + 316, (await host.GetAsync(System)).Reserved.MemoryMib);
    }
}
