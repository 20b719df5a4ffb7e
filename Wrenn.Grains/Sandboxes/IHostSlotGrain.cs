using Wrenn.Grains.Runtime;

namespace Wrenn.Grains.Sandboxes;

public sealed record HostCapacity(int Vcpus, int MemoryMib, long DiskMib);

public sealed record HostInfo(string Name, HostCapacity Capacity, HostCapacity Reserved, int Sandboxes, bool Live);

/// <summary>One per silo, keyed by the silo's name and pinned to it: the host's capacity and reservations.</summary>
[GrainKind("host")]
[Placement(PlacementKind.Pinned)]
public interface IHostSlotGrain : IGrainWithStringKey
{
    /// <summary>Hosts are shared by every team: any caller may read them.</summary>
    [Shared]
    Task<HostInfo> GetAsync(Caller caller);

    /// <summary>Reserves room for a sandbox or fails with RESOURCE_EXHAUSTED naming what is short. The silo only.</summary>
    Task ReserveAsync(Caller caller, string sandboxId, int vcpus, int memoryMib, long diskMib);

    /// <summary>The silo only.</summary>
    Task ReleaseAsync(Caller caller, string sandboxId);
}
