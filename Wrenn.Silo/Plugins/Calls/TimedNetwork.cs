using Wrenn.Abstractions.Network;

namespace Wrenn.Silo.Plugins.Calls;

/// <summary>Times and logs every call into a network plugin (see <see cref="PluginCallLog"/>).</summary>
internal sealed class TimedNetwork(INetwork inner, PluginCallLog log) : INetwork
{
    public Task<NetworkSlot> AllocateAsync(string sandboxId, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(AllocateAsync), sandboxId, () => inner.AllocateAsync(sandboxId, cancellationToken), cancellationToken);

    public Task ReleaseAsync(NetworkSlot slot, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(ReleaseAsync), slot.SandboxId, () => inner.ReleaseAsync(slot, cancellationToken), cancellationToken);

    public Task<IReadOnlyList<NetworkSlot>> DiscoverAsync(string ownerPrefix, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(DiscoverAsync), ownerPrefix, () => inner.DiscoverAsync(ownerPrefix, cancellationToken), cancellationToken);
}
