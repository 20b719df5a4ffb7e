using Wrenn.Abstractions.Network;

namespace Wrenn.Silo.Plugins.Calls;

/// <summary>Times and logs every call into a network plugin (see <see cref="PluginCallLog"/>).</summary>
internal class TimedNetwork(INetwork inner, PluginCallLog log) : INetwork
{
    /// <summary>The decorator for <paramref name="inner"/>: one that also passes per-sandbox egress through when the plugin has it (<see cref="INetworkEgress"/>), which the silo asks for by type.</summary>
    public static INetwork For(INetwork inner, PluginCallLog log) =>
        inner is INetworkEgress egress ? new TimedEgressNetwork(inner, egress, log) : new TimedNetwork(inner, log);

    protected PluginCallLog Log => log;

    public Task<NetworkSlot> AllocateAsync(string sandboxId, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(AllocateAsync), sandboxId, () => inner.AllocateAsync(sandboxId, cancellationToken), cancellationToken);

    public Task ReleaseAsync(NetworkSlot slot, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(ReleaseAsync), slot.SandboxId, () => inner.ReleaseAsync(slot, cancellationToken), cancellationToken);

    public Task<IReadOnlyList<NetworkSlot>> DiscoverAsync(string ownerPrefix, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(DiscoverAsync), ownerPrefix, () => inner.DiscoverAsync(ownerPrefix, cancellationToken), cancellationToken);
}

/// <summary>A network plugin with per-sandbox egress: its policy calls are timed too.</summary>
internal sealed class TimedEgressNetwork(INetwork inner, INetworkEgress egress, PluginCallLog log) : TimedNetwork(inner, log), INetworkEgress
{
    public EgressPolicy DefaultPolicy => egress.DefaultPolicy;

    public Task<NetworkSlot> AllocateAsync(string sandboxId, EgressPolicy policy, CancellationToken cancellationToken) =>
        Log.TimeAsync(nameof(AllocateAsync), sandboxId, () => egress.AllocateAsync(sandboxId, policy, cancellationToken), cancellationToken);

    public Task ApplyEgressAsync(NetworkSlot slot, EgressPolicy policy, CancellationToken cancellationToken) =>
        Log.TimeAsync(nameof(ApplyEgressAsync), slot.SandboxId, () => egress.ApplyEgressAsync(slot, policy, cancellationToken), cancellationToken);
}
