using System.Net;
using System.Net.Sockets;

namespace Wrenn.Guest.Tests;

/// <summary>
/// The agent's Network service, against the published agent binary running on the host: it reads
/// the host's /proc/net/tcp{,6} there, the guest's in a VM, with the same code.
/// </summary>
public sealed class AgentNetworkTests(AgentProcessFixture agent) : IClassFixture<AgentProcessFixture>
{
    private readonly CancellationToken Ct = TestContext.Timeout(60);

    [Fact]
    public async Task ListListeningPorts_lists_IPv4_and_IPv6_listeners_with_the_process_that_holds_them()
    {
        using var v4 = new TcpListener(IPAddress.Loopback, 0);
        using var v6 = new TcpListener(IPAddress.IPv6Any, 0);
        v4.Start();
        v6.Start();
        var (port4, port6) = (((IPEndPoint)v4.LocalEndpoint).Port, ((IPEndPoint)v6.LocalEndpoint).Port);
        using var client = agent.NewClient();

        var sockets = await client.ListListeningPortsAsync(Ct);

        var ours = File.ReadAllText($"/proc/{Environment.ProcessId}/comm").TrimEnd('\n');
        var four = Assert.Single(sockets, s => s.Port == port4);
        Assert.Equal(("127.0.0.1", false, Environment.ProcessId, ours), (four.Address, four.Ipv6, four.Pid, four.Command));
        var six = Assert.Single(sockets, s => s.Port == port6);
        Assert.Equal(("::", true, Environment.ProcessId), (six.Address, six.Ipv6, six.Pid));
        var itself = Assert.Single(sockets, s => s.Port == agent.Port);
        Assert.Equal(("127.0.0.1", agent.AgentPid), (itself.Address, itself.Pid));
        Assert.Equal(sockets.OrderBy(s => s.Port).Select(s => s.Port), sockets.Select(s => s.Port));
    }

    [Fact]
    public async Task A_socket_that_stopped_listening_or_only_connects_is_not_listed()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var connected = new TcpClient();
        await connected.ConnectAsync(IPAddress.Loopback, port, Ct);
        using var accepted = await listener.AcceptTcpClientAsync(Ct);
        var clientPort = ((IPEndPoint)connected.Client.LocalEndPoint!).Port;
        using var client = agent.NewClient();
        Assert.Contains(await client.ListListeningPortsAsync(Ct), s => s.Port == port);

        listener.Stop();

        var after = await client.ListListeningPortsAsync(Ct);
        Assert.DoesNotContain(after, s => s.Port == port);
        Assert.DoesNotContain(after, s => s.Port == clientPort);
    }
}
