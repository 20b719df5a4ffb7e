using Orleans.Concurrency;
using Orleans.Placement;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Cluster.Placement;

namespace Wrenn.Silo.Cluster.Events;

/// <summary>A host's receiver of other hosts' sandbox changes: hands each to the listeners of its silo.</summary>
[GrainType(GrainTypes.SandboxEvents)]
[HostAffinePlacement]
[Immovable]
[Reentrant]
public sealed class SandboxEventsGrain(SandboxChangeFeed feed) : Grain, ISandboxEventsGrain
{
    public Task DeliverAsync(SandboxChange change)
    {
        feed.DeliverHere(change);
        return Task.CompletedTask;
    }
}
