using System.Net;

namespace Wrenn.Abstractions.Network;

/// <summary>
/// Gives each sandbox its own network: a namespace with a TAP device for the guest, reachable from
/// the host on a per-slot address, while the guest keeps the same address in every sandbox (so a
/// snapshot restores anywhere). Slots are unique machine-wide, across silos and test runs.
/// </summary>
public interface INetwork
{
    /// <summary>Takes a free slot and builds its namespace, links and NAT. Undone completely on failure.</summary>
    /// <exception cref="CapacityException">No slot is free.</exception>
    Task<NetworkSlot> AllocateAsync(string sandboxId, CancellationToken cancellationToken);

    /// <summary>Removes the slot's namespace, links and rules and frees the slot. Idempotent.</summary>
    Task ReleaseAsync(NetworkSlot slot, CancellationToken cancellationToken);

    /// <summary>
    /// Lists slots on the host that carry <paramref name="ownerPrefix"/> (for the reconciler), whether or
    /// not this process allocated them.
    /// </summary>
    Task<IReadOnlyList<NetworkSlot>> DiscoverAsync(string ownerPrefix, CancellationToken cancellationToken);
}

/// <summary>One sandbox's network.</summary>
/// <param name="Index">The machine-wide slot number; addresses derive from it.</param>
/// <param name="SandboxId">The sandbox that holds it.</param>
/// <param name="Namespace">The netns name; the VMM process runs inside it.</param>
/// <param name="TapDevice">The TAP device inside the namespace that carries the guest.</param>
/// <param name="HostAddress">
/// The address by which the host (root namespace) reaches the guest: connections to it are
/// forwarded to <see cref="GuestNetwork.Address"/>.
/// </param>
/// <param name="Guest">The guest side, identical in every slot.</param>
/// <param name="Properties">The plugin's own facts (veth names, rule handles …) for release and adoption.</param>
public sealed record NetworkSlot(
    int Index,
    string SandboxId,
    string Namespace,
    string TapDevice,
    IPAddress HostAddress,
    GuestNetwork Guest,
    IReadOnlyDictionary<string, string> Properties);

/// <summary>The guest's view of its network.</summary>
/// <param name="Address">The guest's address (e.g. 169.254.0.21).</param>
/// <param name="PrefixLength">Its prefix length (e.g. 30).</param>
/// <param name="Gateway">The TAP's address inside the namespace (e.g. 169.254.0.22).</param>
/// <param name="MacAddress">The guest NIC's MAC address.</param>
/// <param name="DnsServer">The resolver the guest should use, if configured.</param>
public sealed record GuestNetwork(
    IPAddress Address,
    int PrefixLength,
    IPAddress Gateway,
    string MacAddress,
    IPAddress? DnsServer);

/// <summary>A resource ran out (network slots, host capacity). Maps to RESOURCE_EXHAUSTED.</summary>
public class CapacityException(string message) : Exception(message);
