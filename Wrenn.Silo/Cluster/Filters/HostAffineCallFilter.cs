using Orleans.Runtime;
using Wrenn.Grains.Errors;
using Wrenn.Silo.Cluster.Placement;

namespace Wrenn.Silo.Cluster.Filters;

/// <summary>
/// Every call from this silo to a host-affine grain (a sandbox, a host slot) first learns the
/// grain's host: an id that names no sandbox fails NOT_FOUND here, and a host whose silo is not an
/// active member fails UNAVAILABLE naming it, both at once and before Orleans addresses anything.
/// A call that then cannot reach the host (the connection was refused, the silo was declared dead
/// while the call waited, it timed out) fails with Orleans' own exceptions; callers get one answer
/// for all of them: UNAVAILABLE, naming the host.
/// </summary>
public sealed class HostAffineCallFilter(GrainHosts hosts, ClusterHosts cluster) : IOutgoingGrainCallFilter
{
    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        if (!GrainHosts.IsHostAffine(context.TargetId))
        {
            await context.Invoke();
            return;
        }
        var host = await hosts.HostOfAsync(context.TargetId, RequestContext.Get(GrainHosts.RequestContextKey) as string);
        if (!cluster.IsLive(host))
            throw Unavailable(host, context, "its silo is not in the cluster now: stopped, restarting, or declared dead");
        try
        {
            await context.Invoke();
        }
        catch (Exception e) when (e is OrleansMessageRejectionException or TimeoutException)
        {
            throw Unavailable(host, context, $"{e.GetType().Name}: {e.Message}");
        }
    }

    private static GrainException Unavailable(string host, IOutgoingGrainCallContext context, string why) =>
        new(ErrorCodes.Unavailable, $"Host {host}, where {context.TargetId.Key} lives, cannot be reached now ({why}); retry later.");
}
