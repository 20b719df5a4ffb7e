using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Wrenn.Abstractions.Network;
using Wrenn.Abstractions.Plugins;
using Wrenn.Plugins.Network.Netns;
using Wrenn.Testing;

namespace Wrenn.Network.Tests;

/// <summary>
/// Builds netns plugins for a fresh test owner, releases whatever a test left allocated, and stops
/// the plugins' resolvers.
/// </summary>
public sealed class NetnsFixture : IAsyncLifetime
{
    private readonly List<(INetwork Network, NetworkSlot Slot)> _allocated = [];
    private readonly List<NetnsNetwork> _networks = [];

    public string Owner { get; private set; } = "";

    public async Task InitializeAsync()
    {
        await HostSweep.RemoveLeftoversAsync();
        Owner = TestPrefix.NewOwner();
    }

    public NetnsNetwork Network(bool egress = false) => Network(new NetnsOptions { Egress = egress });

    /// <summary>
    /// A plugin whose slots are this owner's alone (own slot folder and address range), so a test
    /// knows which slot its next allocation takes while other test runs allocate on the machine.
    /// </summary>
    public NetnsNetwork PrivateSlotsNetwork() =>
        Network(new NetnsOptions { SlotDirectory = $"/run/wrenn/{Owner}/slots", SlotBase = "10.199.0.0", MaxSlots = 4 });

    /// <summary>A plugin for this owner with <paramref name="options"/>; the fixture disposes it.</summary>
    public NetnsNetwork Network(NetnsOptions options)
    {
        var network = new NetnsNetwork(Options.Create(options),
            new PluginHost(Owner, "/run/wrenn/" + Owner, "/run/wrenn/" + Owner, "/run/wrenn", "/var/cache/wrenn"),
            NullLogger<NetnsNetwork>.Instance);
        _networks.Add(network);
        return network;
    }

    public async Task<NetworkSlot> AllocateAsync(INetwork network, string sandboxId)
    {
        var slot = await network.AllocateAsync(sandboxId, CancellationToken.None);
        _allocated.Add((network, slot));
        return slot;
    }

    /// <summary>A slot allocated with <paramref name="policy"/> in force from the start (the one-pass allocation of <see cref="INetworkEgress"/>).</summary>
    public async Task<NetworkSlot> AllocateAsync(NetnsNetwork network, string sandboxId, EgressPolicy policy)
    {
        var slot = await network.AllocateAsync(sandboxId, policy, CancellationToken.None);
        _allocated.Add((network, slot));
        return slot;
    }

    public async Task ReleaseAsync(INetwork network, NetworkSlot slot)
    {
        await network.ReleaseAsync(slot, CancellationToken.None);
        _allocated.RemoveAll(a => a.Slot.Index == slot.Index);
    }

    public async Task DisposeAsync()
    {
        foreach (var (network, slot) in _allocated)
            await network.ReleaseAsync(slot, CancellationToken.None);
        foreach (var network in _networks)
            await network.DisposeAsync();
        TestPrefix.Retire(Owner);
    }
}
