using Orleans.Runtime;
using Orleans.Runtime.Placement;
using Wrenn.Grains.Errors;

namespace Wrenn.Silo.Cluster.Placement;

/// <summary>
/// Activates a host-affine grain on the silo named after its host, and nowhere else: when that
/// silo is not an active member of the cluster the call fails at once with UNAVAILABLE naming the
/// host (never a wait, never another silo). A grain that belongs to no host (a sandbox id without a
/// record) fails with NOT_FOUND and is never activated.
/// </summary>
public sealed class HostAffinePlacementDirector(GrainHosts hosts, IClusterMembershipService membership) : IPlacementDirector
{
    public async Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var host = await hosts.HostOfAsync(target.GrainIdentity, target.RequestContextData?.GetValueOrDefault(GrainHosts.RequestContextKey) as string);
        var compatible = context.GetCompatibleSilos(target);
        var members = membership.CurrentSnapshot.Members;
        foreach (var silo in compatible)
        {
            if (members.TryGetValue(silo, out var member) && member.Status == SiloStatus.Active && member.Name == host)
                return silo;
        }
        throw new GrainException(ErrorCodes.Unavailable,
            $"Host {host}, where {target.GrainIdentity.Key} lives, is not in the cluster now (its silo is stopped, restarting or was declared dead); retry once it is back.");
    }
}
