using System.Diagnostics;
using Wrenn.Abstractions.Plugins;

namespace Wrenn.Network.Tests;

/// <summary>
/// "The outside" for egress tests: a namespace the test makes, joined to the root namespace by a
/// veth pair, with a listener that answers "outside". Forwarding is enabled only on the test's own
/// root-side link (for the replies); the machine-wide switch is never touched.
/// </summary>
public sealed class OutsideNamespace : IAsyncDisposable
{
    public const int Port = 9090;
    private readonly Process _listener;

    private OutsideNamespace(string name, string rootLink, string listenerAddress, Process listener)
    {
        Name = name;
        RootLink = rootLink;
        ListenerAddress = listenerAddress;
        _listener = listener;
    }

    public string Name { get; }
    public string RootLink { get; }
    public string ListenerAddress { get; }

    public static async Task<OutsideNamespace> CreateAsync(string owner)
    {
        var name = $"{owner}-out";
        var rootLink = $"{owner}o";
        // 10.201.0.0/16 per owner-hash /30: apart from the slot range, and from other test owners.
        var third = (Math.Abs(owner.GetHashCode()) % 250) + 1;
        var rootEnd = $"10.201.{third}.1";
        var outsideEnd = $"10.201.{third}.2";
        var ct = CancellationToken.None;
        await HostCommand.RunAsync("ip", ["netns", "add", name], ct);
        try
        {
            await HostCommand.RunAsync("ip", ["link", "add", rootLink, "type", "veth", "peer", "name", "eth0", "netns", name], ct);
            await HostCommand.RunAsync("ip", ["addr", "add", $"{rootEnd}/30", "dev", rootLink], ct);
            await HostCommand.RunAsync("ip", ["link", "set", rootLink, "up"], ct);
            await HostCommand.RunAsync("sysctl", ["-q", "-w", $"net.ipv4.conf.{rootLink}.forwarding=1"], ct);
            await HostCommand.RunAsync("ip", ["-n", name, "addr", "add", $"{outsideEnd}/30", "dev", "eth0"], ct);
            await HostCommand.RunAsync("ip", ["-n", name, "link", "set", "eth0", "up"], ct);
            await HostCommand.RunAsync("ip", ["-n", name, "link", "set", "lo", "up"], ct);
            await HostCommand.RunAsync("ip", ["-n", name, "route", "add", "default", "via", rootEnd], ct);
            var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true };
            foreach (var arg in new[] { "netns", "exec", name, "python3", "-c",
                         "import socket\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n" +
                         $"s.bind(('{outsideEnd}', {Port})); s.listen(); print('ready', flush=True)\n" +
                         "while True:\n  c,_=s.accept(); c.sendall(b'outside'); c.close()" })
                start.ArgumentList.Add(arg);
            var listener = Process.Start(start)!;
            await listener.StandardOutput.ReadLineAsync(ct);
            return new OutsideNamespace(name, rootLink, outsideEnd, listener);
        }
        catch
        {
            await HostCommand.TryRunAsync("ip", ["netns", "delete", name], ct);
            await HostCommand.TryRunAsync("ip", ["link", "delete", rootLink], ct);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Kill();
        await _listener.WaitForExitAsync();
        _listener.Dispose();
        await HostCommand.TryRunAsync("ip", ["netns", "delete", Name], CancellationToken.None);
        await HostCommand.TryRunAsync("ip", ["link", "delete", RootLink], CancellationToken.None);
    }
}
