using System.Diagnostics;
using System.Net.Sockets;
using Wrenn.Abstractions.Network;
using Wrenn.Abstractions.Plugins;
using Wrenn.Plugins.Network.Netns;
using Wrenn.Testing;

namespace Wrenn.Network.Tests;

/// <summary>
/// The netns network plugin on real namespaces, veth pairs, TAP devices and nftables. The guest
/// itself is a VM; here a STAND-IN GUEST — a process inside the sandbox namespace holding the guest
/// address on its loopback — answers in its place. The path through the TAP into a real guest is
/// covered by the QEMU VM tests (QemuVmTests).
/// </summary>
public sealed class NetnsTests(NetnsFixture fixture) : IClassFixture<NetnsFixture>
{
    private const int StandInPort = 8080;

    [Fact]
    public async Task Two_slots_are_each_reachable_from_the_host_by_their_slot_address()
    {
        using var gate = await MachineGate.EnterAsync();
        var network = fixture.Network();
        var first = await fixture.AllocateAsync(network, "sb-first");
        var second = await fixture.AllocateAsync(network, "sb-second");
        Assert.NotEqual(first.Index, second.Index);
        Assert.NotEqual(first.HostAddress, second.HostAddress);
        Assert.Equal(first.Guest.Address, second.Guest.Address); // the same guest address everywhere

        using var guestOne = StartStandInGuest(first, "one");
        using var guestTwo = StartStandInGuest(second, "two");
        try
        {
            Assert.Equal("one", await ReadGreetingAsync(first));
            Assert.Equal("two", await ReadGreetingAsync(second));
        }
        finally
        {
            guestOne.Kill();
            guestTwo.Kill();
            await fixture.ReleaseAsync(network, first);
            await fixture.ReleaseAsync(network, second);
        }
    }

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
    public async Task Discover_finds_the_slots_of_an_owner()
    {
        using var gate = await MachineGate.EnterAsync();
        var network = fixture.Network();
        var slot = await fixture.AllocateAsync(network, "sb-discovered");
        var found = await network.DiscoverAsync(fixture.Owner, CancellationToken.None);
        var discovered = Assert.Single(found, s => s.Index == slot.Index);
        Assert.Equal("sb-discovered", discovered.SandboxId);
        Assert.Equal(slot.Namespace, discovered.Namespace);
        await fixture.ReleaseAsync(network, slot);
    }

    [Fact]
    public async Task Allocators_in_two_processes_never_hand_out_the_same_slot()
    {
        var folder = Path.Combine("/run/wrenn", $"{fixture.Owner}-slots");
        try
        {
            // Built beside this project, in the same configuration (…/bin/{Debug|Release}/net10.0/).
            var configuration = Path.GetFileName(Path.GetDirectoryName(AppContext.BaseDirectory.TrimEnd('/')))!;
            var taker = Path.Combine(RepoPaths.Root, "tests", "Wrenn.Network.SlotTaker", "bin", configuration, "net10.0", "Wrenn.Network.SlotTaker.dll");
            Assert.True(File.Exists(taker), $"{taker} is missing: build the solution first.");
            var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true };
            foreach (var arg in new[] { taker, folder, "200", "other" })
                start.ArgumentList.Add(arg);
            using var other = Process.Start(start)!;
            var mine = new SlotAllocator(folder, 10_000);
            await Task.Delay(500); // let the other process load
            await other.StandardInput.WriteLineAsync("go");
            await other.StandardInput.FlushAsync();
            var taken = new List<int>();
            for (var i = 0; i < 200; i++)
                taken.Add(mine.Take(fixture.Owner, $"sb-mine-{i}"));
            var theirs = (await other.StandardOutput.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
            await other.WaitForExitAsync();

            Assert.Equal(200, theirs.Count);
            Assert.Empty(taken.Intersect(theirs));
            Assert.Equal(400, taken.Concat(theirs).Distinct().Count());
        }
        finally
        {
            if (Directory.Exists(folder))
                Directory.Delete(folder, recursive: true);
        }
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
        var network = fixture.Network();
        // A namespace with the name the next slot would get makes `ip netns add` fail midway.
        var probe = await fixture.AllocateAsync(network, "sb-probe");
        await fixture.ReleaseAsync(network, probe);
        var squatter = $"{fixture.Owner}-{probe.Index}";
        await HostCommand.RunAsync("ip", ["netns", "add", squatter], CancellationToken.None);
        try
        {
            var error = await Assert.ThrowsAsync<HostCommandException>(() => network.AllocateAsync("sb-failing", CancellationToken.None));
            Assert.Contains("netns", error.Message);
            Assert.DoesNotContain(await Links(), l => l.StartsWith(fixture.Owner + "h", StringComparison.Ordinal));
            Assert.DoesNotContain((await network.DiscoverAsync(fixture.Owner, CancellationToken.None)), s => s.SandboxId == "sb-failing");
        }
        finally
        {
            await HostCommand.TryRunAsync("ip", ["netns", "delete", squatter], CancellationToken.None);
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
