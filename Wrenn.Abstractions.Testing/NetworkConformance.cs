using System.Diagnostics;
using System.Net.Sockets;
using Wrenn.Abstractions.Network;
using Wrenn.Abstractions.Plugins;
using Xunit;

namespace Wrenn.Abstractions.Testing;

/// <summary>
/// Checks an <see cref="INetwork"/> against what the silo relies on: every sandbox has a slot of its
/// own, reachable from the host by its slot address and cut off from other slots; release removes
/// everything and may be repeated; slots are unique across processes (several silos and test runs
/// share a machine); the reconciler finds an owner's slots. The guest is a STAND-IN: a process in the
/// slot's namespace holding the guest address (needs iproute2 and python3 on the host). Run as root.
/// </summary>
public abstract class NetworkConformance : KitTest
{
    private const int GuestPort = 8080;
    private readonly List<NetworkSlot> _allocated = [];

    protected abstract INetwork CreateNetwork(PluginHost host);

    /// <summary>
    /// A command that allocates slots through the plugin in another process, for the same owner and
    /// folders: its program calls <see cref="RunAllocatorAsync"/> with the plugin built for
    /// <paramref name="host"/> and <paramref name="count"/>.
    /// </summary>
    protected abstract ProcessStartInfo AllocatorInAnotherProcess(PluginHost host, int count);

    /// <summary>Lets a test that changes the host's network wait its turn on a shared machine; the default waits for nothing.</summary>
    protected virtual Task<IDisposable> EnterHostGateAsync() => Task.FromResult<IDisposable>(new NoGate());

    protected INetwork Network { get; private set; } = null!;

    private protected override void CreatePlugin() => Network = CreateNetwork(Kit.Host);

    private protected override async Task CleanUpAsync()
    {
        foreach (var slot in await Network.DiscoverAsync(Kit.Host.OwnerPrefix, CancellationToken.None))
            await Network.ReleaseAsync(slot, CancellationToken.None);
    }


    /// <summary>
    /// The other process's side of <see cref="Allocation_is_unique_across_processes"/>: waits for a line
    /// on standard input, allocates <paramref name="count"/> slots and prints their indices, one a line,
    /// then waits for another line and releases them.
    /// </summary>
    public static async Task RunAllocatorAsync(INetwork network, int count)
    {
        await Console.In.ReadLineAsync();
        var slots = new List<NetworkSlot>();
        for (var i = 0; i < count; i++)
        {
            var slot = await network.AllocateAsync($"sb-other-{i}", CancellationToken.None);
            slots.Add(slot);
            Console.WriteLine(slot.Index);
        }
        Console.WriteLine("done");
        await Console.In.ReadLineAsync();
        foreach (var slot in slots)
            await network.ReleaseAsync(slot, CancellationToken.None);
    }

    private async Task<NetworkSlot> AllocateAsync(string sandboxId)
    {
        var slot = await Network.AllocateAsync(sandboxId, CancellationToken.None);
        _allocated.Add(slot);
        return slot;
    }

    [ConformanceFact]
    public async Task Two_slots_are_each_reachable_from_the_host_and_cut_off_from_each_other()
    {
        using var gate = await EnterHostGateAsync();
        var first = await AllocateAsync(KitHost.NewSandboxId());
        var second = await AllocateAsync(KitHost.NewSandboxId());
        Assert.NotEqual(first.Index, second.Index);
        Assert.NotEqual(first.Namespace, second.Namespace);
        Assert.NotEqual(first.HostAddress, second.HostAddress);
        Assert.Equal(first.Guest.Address, second.Guest.Address); // the same guest address everywhere, so snapshots restore anywhere

        using var one = StandInGuest.Start(first, GuestPort, "one");
        using var two = StandInGuest.Start(second, GuestPort, "two");
        Assert.Equal("one", await GreetingAsync(first));
        Assert.Equal("two", await GreetingAsync(second));
        Assert.Equal("unreachable", await StandInGuest.ConnectFromAsync(first, second.HostAddress.ToString(), GuestPort));

        var found = await Network.DiscoverAsync(Kit.Host.OwnerPrefix, CancellationToken.None);
        Assert.Equal(new[] { first.SandboxId, second.SandboxId }.Order(), found.Select(s => s.SandboxId).Order());
        Assert.Equal(new[] { first.Namespace, second.Namespace }.Order(), found.Select(s => s.Namespace).Order());
    }

    [ConformanceFact]
    public async Task Release_removes_the_namespace_links_and_slot_and_may_be_repeated()
    {
        using var gate = await EnterHostGateAsync();
        var slot = await AllocateAsync(KitHost.NewSandboxId());
        Assert.Contains(slot.Namespace, await NamespacesAsync());

        await Network.ReleaseAsync(slot, CancellationToken.None);
        await Network.ReleaseAsync(slot, CancellationToken.None);

        Assert.DoesNotContain(slot.Namespace, await NamespacesAsync());
        Assert.DoesNotContain(await LinksAsync(), l => l.StartsWith(Kit.Host.OwnerPrefix, StringComparison.Ordinal));
        Assert.DoesNotContain(Kit.Host.OwnerPrefix, (await HostCommand.TryRunAsync("nft", ["list", "tables"], CancellationToken.None)).Stdout);
        Assert.Empty(await Network.DiscoverAsync(Kit.Host.OwnerPrefix, CancellationToken.None));
        Assert.Empty(Kit.PluginFiles());
    }

    [ConformanceFact]
    public async Task Allocation_is_unique_across_processes()
    {
        const int each = 6;
        using var gate = await EnterHostGateAsync();
        var start = AllocatorInAnotherProcess(Kit.Host, each);
        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var other = KitHost.Start(start);
        var errors = other.StandardError.ReadToEndAsync();
        try
        {
            await other.StandardInput.WriteLineAsync("go");
            await other.StandardInput.FlushAsync();
            var mine = new List<int>();
            for (var i = 0; i < each; i++)
                mine.Add((await AllocateAsync(KitHost.NewSandboxId())).Index);
            var theirs = new List<int>();
            while (await other.StandardOutput.ReadLineAsync() is { } line && line != "done")
                theirs.Add(int.Parse(line, System.Globalization.CultureInfo.InvariantCulture));

            Assert.True(theirs.Count == each, $"the other process allocated {theirs.Count} slots: {await StopAsync(other, errors)}");
            Assert.Empty(mine.Intersect(theirs));
        }
        finally
        {
            await StopAsync(other, errors);
        }
    }

    private static async Task<string> StopAsync(Process other, Task<string> errors)
    {
        if (!other.HasExited)
        {
            await other.StandardInput.WriteLineAsync("release");
            await other.StandardInput.FlushAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await other.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                other.Kill(entireProcessTree: true);
            }
        }
        return await errors;
    }

    private static async Task<string> GreetingAsync(NetworkSlot slot)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await client.ConnectAsync(slot.HostAddress, GuestPort, timeout.Token);
        using var reader = new StreamReader(client.GetStream());
        return await reader.ReadToEndAsync(timeout.Token);
    }

    private static async Task<string[]> NamespacesAsync() =>
        (await HostCommand.RunAsync("ip", ["netns", "list"], CancellationToken.None))
        .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]).ToArray();

    private static async Task<string[]> LinksAsync() =>
        (await HostCommand.RunAsync("ip", ["-o", "link", "show"], CancellationToken.None))
        .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(':', 3)[1].Trim().Split('@')[0]).ToArray();

    private sealed class NoGate : IDisposable
    {
        public void Dispose()
        {
        }
    }
}

/// <summary>A STAND-IN for a guest: a process in the slot's namespace holding the guest address on its loopback.</summary>
public sealed class StandInGuest : IDisposable
{
    private readonly Process _process;

    private StandInGuest(Process process) => _process = process;

    /// <summary>Listens on the guest address and answers <paramref name="greeting"/> to whoever connects.</summary>
    public static StandInGuest Start(NetworkSlot slot, int port, string greeting)
    {
        var script = $"ip addr add {slot.Guest.Address}/32 dev lo 2>/dev/null; exec python3 -c \"" +
            "import socket\n" +
            "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n" +
            $"s.bind(('{slot.Guest.Address}', {port})); s.listen()\n" +
            "print('ready', flush=True)\n" +
            "while True:\n" +
            $"  c,_=s.accept(); c.sendall(b'{greeting}'); c.close()\"";
        var process = KitHost.Start(new ProcessStartInfo("ip", ["netns", "exec", slot.Namespace, "sh", "-c", script]) { RedirectStandardOutput = true, RedirectStandardError = true });
        if (process.StandardOutput.ReadLine() != "ready")
            throw new InvalidOperationException($"The stand-in guest in {slot.Namespace} did not start: {process.StandardError.ReadToEnd()}");
        return new StandInGuest(process);
    }

    /// <summary>Connects from the guest address inside <paramref name="from"/>'s namespace; the answer, or "unreachable".</summary>
    public static async Task<string> ConnectFromAsync(NetworkSlot from, string address, int port)
    {
        var script = $"ip addr add {from.Guest.Address}/32 dev lo 2>/dev/null; exec python3 -c \"" +
            "import socket\n" +
            "s=socket.socket(); s.settimeout(3)\n" +
            $"s.bind(('{from.Guest.Address}', 0))\n" +
            "try:\n" +
            $"  s.connect(('{address}', {port})); print(s.recv(100).decode() or 'unreachable')\n" +
            "except OSError:\n" +
            "  print('unreachable')\"";
        return (await HostCommand.RunAsync("ip", ["netns", "exec", from.Namespace, "sh", "-c", script], CancellationToken.None)).Trim();
    }

    public void Dispose()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
        _process.Dispose();
    }
}
