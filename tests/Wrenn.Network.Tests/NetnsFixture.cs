using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Wrenn.Abstractions.Network;
using Wrenn.Abstractions.Plugins;
using Wrenn.Plugins.Network.Netns;
using Wrenn.Testing;

namespace Wrenn.Network.Tests;

/// <summary>Builds netns plugins for a fresh test owner, and releases whatever a test left allocated.</summary>
public sealed class NetnsFixture : IAsyncLifetime
{
    private readonly List<(INetwork Network, NetworkSlot Slot)> _allocated = [];

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

    private NetnsNetwork Network(NetnsOptions options) =>
        new(Options.Create(options),
            new PluginHost(Owner, "/run/wrenn/" + Owner, "/run/wrenn/" + Owner, "/run/wrenn", "/var/cache/wrenn"),
            NullLogger<NetnsNetwork>.Instance);

    public async Task<NetworkSlot> AllocateAsync(INetwork network, string sandboxId)
    {
        var slot = await network.AllocateAsync(sandboxId, CancellationToken.None);
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
        TestPrefix.Retire(Owner);
    }
}
