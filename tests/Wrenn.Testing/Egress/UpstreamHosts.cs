using System.Diagnostics;
using Wrenn.Abstractions.Plugins;

namespace Wrenn.Testing.Egress;

/// <summary>
/// Hosts "out there" for the egress tests, of the test's own: a namespace joined to the root namespace
/// by a veth pair, holding <see cref="Count"/> addresses, each with a TCP server that sends its own
/// address as a first line and then echoes every line back (so a test sees which host it reached, and
/// whether a connection opened earlier still carries data). The sandboxes reach it through the root
/// namespace's forwarding on their links and on this one only (the test's root-side link, for the
/// replies); the machine-wide switch is never touched, and nothing goes beyond this machine.
/// </summary>
public sealed class UpstreamHosts : IAsyncDisposable
{
    public const int Port = 9191;
    public const int Count = 3;

    private const string Server = """
        import socket, sys, threading
        def talk(c, address):
            try:
                c.sendall((address + '\n').encode())
                for line in c.makefile('rb'):
                    c.sendall(line)
            except OSError:
                pass
            finally:
                c.close()
        def serve(s, address):
            while True:
                c, _ = s.accept()
                threading.Thread(target=talk, args=(c, address), daemon=True).start()
        for address in sys.argv[2:]:
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((address, int(sys.argv[1]))); s.listen(16)
            threading.Thread(target=serve, args=(s, address), daemon=True).start()
        print('ready', flush=True)
        sys.stdin.read()
        """;

    private readonly Process _server;

    private UpstreamHosts(string name, string rootLink, string subnet, IReadOnlyList<string> addresses, Process server)
    {
        Name = name;
        RootLink = rootLink;
        Subnet = subnet;
        Addresses = addresses;
        _server = server;
    }

    public string Name { get; }
    public string RootLink { get; }

    /// <summary>The /29 the hosts are in (the root end is its .1).</summary>
    public string Subnet { get; }

    /// <summary>The hosts' addresses, each answering on <see cref="Port"/>.</summary>
    public IReadOnlyList<string> Addresses { get; }

    public static async Task<UpstreamHosts> CreateAsync(string owner)
    {
        var name = $"{owner}-up";
        var rootLink = $"{owner}u";
        // 10.202.0.0/16, a /29 per owner hash: apart from the slot ranges, OutsideNamespace's and other owners'.
        var third = (Math.Abs(owner.GetHashCode()) % 250) + 1;
        var rootEnd = $"10.202.{third}.1";
        var addresses = Enumerable.Range(2, Count).Select(i => $"10.202.{third}.{i}").ToList();
        var ct = CancellationToken.None;
        await HostCommand.RunAsync("ip", ["netns", "add", name], ct);
        try
        {
            await HostCommand.RunAsync("ip", ["link", "add", rootLink, "type", "veth", "peer", "name", "eth0", "netns", name], ct);
            await HostCommand.RunAsync("ip", ["addr", "add", $"{rootEnd}/29", "dev", rootLink], ct);
            await HostCommand.RunAsync("ip", ["link", "set", rootLink, "up"], ct);
            await HostCommand.RunAsync("sysctl", ["-q", "-w", $"net.ipv4.conf.{rootLink}.forwarding=1"], ct);
            foreach (var address in addresses)
                await HostCommand.RunAsync("ip", ["-n", name, "addr", "add", $"{address}/29", "dev", "eth0"], ct);
            await HostCommand.RunAsync("ip", ["-n", name, "link", "set", "eth0", "up"], ct);
            await HostCommand.RunAsync("ip", ["-n", name, "link", "set", "lo", "up"], ct);
            await HostCommand.RunAsync("ip", ["-n", name, "route", "add", "default", "via", rootEnd], ct);
            var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardInput = true, RedirectStandardError = true };
            foreach (var arg in new[] { "netns", "exec", name, "python3", "-c", Server, Port.ToString(System.Globalization.CultureInfo.InvariantCulture) }.Concat(addresses))
                start.ArgumentList.Add(arg);
            var server = Process.Start(start)!;
            if (await server.StandardOutput.ReadLineAsync(ct) != "ready")
                throw new InvalidOperationException("the upstream hosts' server did not start: " + await server.StandardError.ReadToEndAsync(ct));
            return new UpstreamHosts(name, rootLink, $"10.202.{third}.0/29", addresses, server);
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
        _server.Kill(entireProcessTree: true);
        await _server.WaitForExitAsync();
        _server.Dispose();
        await HostCommand.TryRunAsync("ip", ["netns", "delete", Name], CancellationToken.None);
        await HostCommand.TryRunAsync("ip", ["link", "delete", RootLink], CancellationToken.None);
    }
}
