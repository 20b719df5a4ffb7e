using Orleans.Placement;
using Orleans.Runtime;

namespace Wrenn.Silo.Cluster.Placement;

/// <summary>
/// A grain that lives only on one host's silo: a sandbox where its VM runs, a host's own slot
/// grain. Which host is the grain's business (<see cref="GrainHosts"/>); the director finds that
/// host's silo in the cluster or fails the call.
/// </summary>
[Serializable]
[GenerateSerializer]
[Alias("wrenn.HostAffinePlacement")]
[Immutable]
public sealed class HostAffinePlacement : PlacementStrategy
{
    public static HostAffinePlacement Instance { get; } = new();
}

/// <summary>Places the grain class on the host that owns it, never anywhere else (see <see cref="HostAffinePlacement"/>).</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class HostAffinePlacementAttribute() : PlacementAttribute(HostAffinePlacement.Instance);
