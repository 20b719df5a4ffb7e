using Wrenn.Abstractions.Network;

namespace Wrenn.Silo.Sandboxes;

public sealed partial class SandboxVms
{
    /// <summary>The network plugin's per-sandbox egress, if it has one (an optional contract since Abstractions 1.3).</summary>
    private INetworkEgress? Egress => network as INetworkEgress;

    /// <summary>The policy a sandbox that says nothing gets on this host; null when the plugin has no per-sandbox policies.</summary>
    public EgressPolicy? DefaultEgress => Egress?.DefaultPolicy;

    /// <summary>The plugin's per-sandbox egress, for a sandbox that has a policy of its own.</summary>
    private INetworkEgress RequiredEgress =>
        Egress ?? throw new InvalidOperationException("This host's network plugin has no per-sandbox egress policy.");

    /// <summary>A network slot with <paramref name="policy"/> in force from the start (null: the plugin's default).</summary>
    private Task<NetworkSlot> AllocateSlotAsync(string sandboxId, EgressPolicy? policy, CancellationToken cancellationToken) =>
        policy is null
            ? network.AllocateAsync(sandboxId, cancellationToken)
            : RequiredEgress.AllocateAsync(sandboxId, policy, cancellationToken);

    /// <summary>
    /// Puts <paramref name="policy"/> in force on a slot: before the VM starts on it (so the guest
    /// never runs under another), on a change, and when a silo adopts a running VM. Null leaves the
    /// plugin's default, which it built the slot with.
    /// </summary>
    public async Task ApplyEgressAsync(NetworkSlot slot, EgressPolicy? policy, CancellationToken cancellationToken)
    {
        if (policy is not null)
            await RequiredEgress.ApplyEgressAsync(slot, policy, cancellationToken);
    }
}
