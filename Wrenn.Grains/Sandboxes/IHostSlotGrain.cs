namespace Wrenn.Grains.Sandboxes;

[GenerateSerializer]
[Alias("wrenn.HostCapacity")]
public sealed record HostCapacity([Id(0)] int Vcpus, [Id(1)] int MemoryMib, [Id(2)] long DiskMib);

/// <summary>What a host uses now, measured on the machine: its CPU over the last interval, its memory and the disk of its data folder.</summary>
[GenerateSerializer]
[Alias("wrenn.HostUsage")]
public sealed record HostUsage([Id(0)] double CpuPercent, [Id(1)] int MemoryUsedMib, [Id(2)] long DiskUsedMib, [Id(3)] int RunningVms, [Id(4)] int VmmMemoryMib, [Id(5)] DateTimeOffset SampledAt);

[GenerateSerializer]
[Alias("wrenn.HostInfo")]
public sealed record HostInfo([Id(0)] string Name, [Id(1)] HostCapacity Capacity, [Id(2)] HostCapacity Reserved, [Id(3)] int Sandboxes, [Id(4)] bool Live,
    [Id(5)] HostUsage? Usage = null);

/// <summary>
/// One per host, keyed by the host's name (<c>host-…</c>, the silo's name) and placed on that host's
/// silo only: the host's capacity and its reservations.
/// </summary>
[Alias("wrenn.host")]
public interface IHostSlotGrain : IGrainWithStringKey
{
    /// <summary>Hosts are shared by every team: any caller may read them.</summary>
    [Alias("get")]
    Task<HostInfo> GetAsync(Caller caller);

    /// <summary>Reserves room for a sandbox or fails with RESOURCE_EXHAUSTED naming what is short. The silo only.</summary>
    [Alias("reserve")]
    Task ReserveAsync(Caller caller, string sandboxId, int vcpus, int memoryMib, long diskMib);

    /// <summary>The silo only.</summary>
    [Alias("release")]
    Task ReleaseAsync(Caller caller, string sandboxId);
}
