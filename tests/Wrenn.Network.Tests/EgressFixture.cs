using Wrenn.Abstractions.Network;
using Wrenn.Plugins.Network.Netns;
using Wrenn.Testing.Egress;

namespace Wrenn.Network.Tests;

/// <summary>
/// What the egress tests share: a test owner (<see cref="NetnsFixture"/>), the upstream hosts, the
/// DNS server the sandboxes' resolver asks, and one plugin whose resolver asks it. Owns them all:
/// whatever a test leaves (a failed one) goes at the end.
/// </summary>
public sealed class EgressFixture : IAsyncLifetime
{
    private UpstreamHosts? _hosts;
    private TestDnsServer? _dns;

    public NetnsFixture Netns { get; } = new();

    public UpstreamHosts Hosts => _hosts!;

    public TestDnsServer Dns => _dns!;

    /// <summary>The plugin most tests use: internet closed by default, upstream <see cref="Dns"/>.</summary>
    public NetnsNetwork Network { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Netns.InitializeAsync();
        _hosts = await UpstreamHosts.CreateAsync(Netns.Owner);
        _dns = TestDnsServer.Start(_hosts);
        Network = NewNetwork();
    }

    /// <summary>Another plugin instance for this owner (as a restarted silo would make), asking <paramref name="upstream"/> (default <see cref="Dns"/>).</summary>
    public NetnsNetwork NewNetwork(bool egress = false, string? upstream = null) =>
        Netns.Network(new NetnsOptions { Egress = egress, Resolver = { Upstream = upstream ?? Dns.Endpoint } });

    /// <summary>A slot of <paramref name="network"/> allocated with <paramref name="policy"/> in force (none: the default) and a stand-in guest in it.</summary>
    public async Task<EgressSandbox> StartAsync(string sandboxId, EgressPolicy? policy = null, NetnsNetwork? network = null)
    {
        network ??= Network;
        var slot = policy is null ? await Netns.AllocateAsync(network, sandboxId) : await Netns.AllocateAsync(network, sandboxId, policy);
        return new EgressSandbox(this, network, slot, await StandInGuest.StartAsync(slot));
    }

    public async Task DisposeAsync()
    {
        await Netns.DisposeAsync();
        _dns?.Dispose();
        if (_hosts is not null)
            await _hosts.DisposeAsync();
    }
}

/// <summary>A slot with its stand-in guest; disposing stops the guest and releases the slot.</summary>
public sealed class EgressSandbox(EgressFixture fixture, NetnsNetwork network, NetworkSlot slot, StandInGuest guest) : IAsyncDisposable
{
    private NetnsNetwork _network = network;
    private bool _released;

    public NetworkSlot Slot { get; private set; } = slot;

    public StandInGuest Guest => guest;

    public Task ApplyAsync(EgressPolicy policy) => _network.ApplyEgressAsync(Slot, policy, CancellationToken.None);

    /// <summary>From now on the slot is <paramref name="adopted"/>'s (found by its discovery), as after a silo restart.</summary>
    public void AdoptedBy(NetnsNetwork adopter, NetworkSlot adopted)
    {
        _network = adopter;
        Slot = adopted;
    }

    public async Task ReleaseAsync()
    {
        await guest.DisposeAsync();
        if (!_released)
            await fixture.Netns.ReleaseAsync(_network, Slot);
        _released = true;
    }

    public async ValueTask DisposeAsync() => await ReleaseAsync();
}
