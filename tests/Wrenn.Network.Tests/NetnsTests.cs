using System.Diagnostics;
using System.Net.Sockets;
using Wrenn.Abstractions.Network;
using Wrenn.Abstractions.Plugins;
using Wrenn.Plugins.Network.Netns;
using Wrenn.Testing;

namespace Wrenn.Network.Tests;

/// <summary>The netns plugin against the conformance kit, on real namespaces, veth pairs, TAP devices and nftables.</summary>
public sealed class NetnsConformanceTests : Wrenn.Abstractions.Testing.NetworkConformance
{
    protected override INetwork CreateNetwork(PluginHost host) =>
        new NetnsNetwork(Microsoft.Extensions.Options.Options.Create(new NetnsOptions()), host, Microsoft.Extensions.Logging.Abstractions.NullLogger<NetnsNetwork>.Instance);

    protected override ProcessStartInfo AllocatorInAnotherProcess(PluginHost host, int count)
    {
        // Built beside this project, in the same configuration (…/bin/{Debug|Release}/net10.0/).
        var configuration = Path.GetFileName(Path.GetDirectoryName(AppContext.BaseDirectory.TrimEnd('/')))!;
        var taker = Path.Combine(RepoPaths.Root, "tests", "Wrenn.Network.SlotTaker", "bin", configuration, "net10.0", "Wrenn.Network.SlotTaker.dll");
        Assert.True(File.Exists(taker), $"{taker} is missing: build the solution first.");
        return new ProcessStartInfo("dotnet", [taker, host.OwnerPrefix, host.DataDir, host.RuntimeDir, count.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
    }

    protected override async Task<IDisposable> EnterHostGateAsync() => await MachineGate.EnterAsync();

    protected override string NewOwnerPrefix() => TestPrefix.NewOwner();

    protected override void RetireOwnerPrefix(string ownerPrefix) => TestPrefix.Retire(ownerPrefix);
}

/// <summary>
/// What is particular to the netns plugin (the kit checks the rest), on real namespaces, veth pairs, TAP devices and nftables. The guest
/// itself is a VM; here a STAND-IN GUEST — a process inside the sandbox namespace holding the guest
/// address on its loopback — answers in its place. The path through the TAP into a real guest is
/// covered by the QEMU VM tests (QemuVmTests).
/// </summary>
public sealed class NetnsTests(NetnsFixture fixture) : IClassFixture<NetnsFixture>
{
    private const int StandInPort = 8080;

    [Fact]
    public async Task Release_leaves_no_namespace_link_rule_or_slot_behind()
    {
        using var gate = await MachineGate.EnterAsync();
        var network = fixture.Network(egress: true);
        var slot = await fixture.AllocateAsync(network, "sb-released");
        Assert.Contains(slot.Namespace, await Namespaces());
        Assert.Contains(NetnsNetwork.HostTable(fixture.Owner), await NftTables());

        await fixture.ReleaseAsync(network, slot);

        Assert.DoesNotContain(slot.Namespace, await Namespaces());
        Assert.DoesNotContain(await Links(), l => l.StartsWith(fixture.Owner, StringComparison.Ordinal));
        Assert.DoesNotContain(NetnsNetwork.HostTable(fixture.Owner), await NftTables());
        Assert.False(File.Exists($"/run/wrenn/net-slots/{slot.Index}") && File.ReadAllText($"/run/wrenn/net-slots/{slot.Index}").StartsWith(fixture.Owner));
        Assert.Empty(await network.DiscoverAsync(fixture.Owner, CancellationToken.None));
    }

    [Fact]
    public async Task With_egress_on_a_guest_reaches_a_listener_outside_and_with_it_off_it_does_not()
    {
        using var gate = await MachineGate.EnterAsync();
        await using var outside = await OutsideNamespace.CreateAsync(fixture.Owner);

        var open = fixture.Network(egress: true);
        var openSlot = await fixture.AllocateAsync(open, "sb-egress-on");
        Assert.Equal("outside", await StandInGuestConnectAsync(openSlot, outside));
        await fixture.ReleaseAsync(open, openSlot);

        var closed = fixture.Network(egress: false);
        var closedSlot = await fixture.AllocateAsync(closed, "sb-egress-off");
        Assert.Equal("unreachable", await StandInGuestConnectAsync(closedSlot, outside));
        await fixture.ReleaseAsync(closed, closedSlot);
    }

    [Fact]
    public async Task A_failed_allocation_leaves_nothing_behind()
    {
        using var gate = await MachineGate.EnterAsync();
        var network = fixture.PrivateSlotsNetwork(); // its next slot is 0
        // A leftover namespace is removed by the allocation, so the squatter is one it cannot remove:
        // a folder where slot 0's namespace file goes makes `ip netns add` fail midway.
        var squatter = $"/run/netns/{fixture.Owner}-0";
        Directory.CreateDirectory(Path.Combine(squatter, "busy"));
        try
        {
            var error = await Assert.ThrowsAsync<HostCommandException>(() => fixture.AllocateAsync(network, "sb-failing"));
            Assert.Contains("netns", error.Message);
            Assert.DoesNotContain(await Links(), l => l.StartsWith(fixture.Owner + "h", StringComparison.Ordinal));
            Assert.DoesNotContain((await network.DiscoverAsync(fixture.Owner, CancellationToken.None)), s => s.SandboxId == "sb-failing");
        }
        finally
        {
            Directory.Delete(squatter, recursive: true);
        }
    }

    [Fact]
    public async Task A_leftover_namespace_and_link_with_a_slots_names_are_removed_by_its_next_allocation()
    {
        using var gate = await MachineGate.EnterAsync();
        var network = fixture.PrivateSlotsNetwork(); // its next slot is 0
        // What a release whose namespace delete failed, or a crash, leaves: the slot file is free but
        // its namespace and host link remain.
        var leftover = $"{fixture.Owner}-0";
        var hostLink = $"{fixture.Owner}h0";
        var strayPeer = $"{fixture.Owner}q0";
        await HostCommand.RunAsync("ip", ["netns", "add", leftover], CancellationToken.None);
        await HostCommand.RunAsync("ip", ["link", "add", hostLink, "type", "veth", "peer", "name", strayPeer], CancellationToken.None);
        try
        {
            var slot = await fixture.AllocateAsync(network, "sb-after-leftover");
            Assert.Equal(0, slot.Index);
            Assert.Equal(hostLink, slot.Properties["hostLink"]);
            Assert.Contains(slot.Namespace, await Namespaces());
            Assert.DoesNotContain(strayPeer, await Links());
            Assert.Contains(hostLink, await Links());
            await fixture.ReleaseAsync(network, slot);
            Assert.DoesNotContain(leftover, await Namespaces());
        }
        finally
        {
            await HostCommand.TryRunAsync("ip", ["link", "delete", hostLink], CancellationToken.None);
            await HostCommand.TryRunAsync("ip", ["netns", "delete", leftover], CancellationToken.None);
        }
    }

    /// <summary>The stand-in guest: holds the guest address in the namespace and greets whoever connects.</summary>
    private static Process StartStandInGuest(NetworkSlot slot, string greeting)
    {
        var script = $"ip addr add {slot.Guest.Address}/32 dev lo && exec python3 -c \"" +
            "import socket\n" +
            "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n" +
            $"s.bind(('{slot.Guest.Address}', {StandInPort})); s.listen()\n" +
            "print('ready', flush=True)\n" +
            "while True:\n" +
            $"  c,_=s.accept(); c.sendall(b'{greeting}'); c.close()\"";
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "netns", "exec", slot.Namespace, "sh", "-c", script })
            start.ArgumentList.Add(arg);
        var process = Process.Start(start)!;
        if (process.StandardOutput.ReadLine() != "ready")
            Assert.Fail("the stand-in guest did not start: " + process.StandardError.ReadToEnd());
        return process;
    }

    private static async Task<string> ReadGreetingAsync(NetworkSlot slot)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await client.ConnectAsync(slot.HostAddress, StandInPort, timeout.Token);
        using var reader = new StreamReader(client.GetStream());
        return await reader.ReadToEndAsync(timeout.Token);
    }

    /// <summary>A client in the sandbox namespace, sending from the guest address, as the guest would.</summary>
    private static async Task<string> StandInGuestConnectAsync(NetworkSlot slot, OutsideNamespace outside)
    {
        var script = $"ip addr add {slot.Guest.Address}/32 dev lo && exec python3 -c \"" +
            "import socket\n" +
            "s=socket.socket(); s.settimeout(3)\n" +
            $"s.bind(('{slot.Guest.Address}', 0))\n" +
            "try:\n" +
            $"  s.connect(('{outside.ListenerAddress}', {OutsideNamespace.Port})); print(s.recv(100).decode())\n" +
            "except OSError:\n" +
            "  print('unreachable')\"";
        var result = await HostCommand.RunAsync("ip", ["netns", "exec", slot.Namespace, "sh", "-c", script], CancellationToken.None);
        return result.Trim();
    }

    private static async Task<string[]> Namespaces() =>
        (await HostCommand.RunAsync("ip", ["netns", "list"], CancellationToken.None))
        .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]).ToArray();

    private static async Task<string[]> Links() =>
        (await HostCommand.RunAsync("ip", ["-o", "link", "show"], CancellationToken.None))
        .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(':', 3)[1].Trim().Split('@')[0]).ToArray();

    private static async Task<string> NftTables() => await HostCommand.RunAsync("nft", ["list", "tables"], CancellationToken.None);
}
