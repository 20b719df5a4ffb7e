using System.Net;
using System.Net.Sockets;
using Wrenn.Abstractions.Plugins;
using Wrenn.Guest.Protocol;
using Wrenn.Testing;
using Wrenn.Testing.Egress;

namespace Wrenn.Guest.Tests;

/// <summary>
/// The silo waits for a booting or restored guest's agent port with <see cref="AgentPortWaiter"/>.
/// Against a real namespace whose firewall drops SYNs for a while (what a guest that is not running
/// yet does to them), it must connect soon after they pass, where one connect left to the kernel
/// waits a second to send its SYN again.
/// </summary>
public sealed class AgentPortWaiterTests
{
    private readonly CancellationToken Ct = TestContext.Timeout(60);

    [Fact]
    public async Task After_dropped_SYNs_it_connects_within_a_budget_a_single_kernel_connect_cannot_meet()
    {
        using var gate = await MachineGate.EnterAsync();
        var owner = TestPrefix.NewOwner();
        try
        {
            await using var hosts = await UpstreamHosts.CreateAsync(owner);
            var address = IPAddress.Parse(hosts.Addresses[0]);
            // The budget is under the kernel's first SYN retransmission (1 s, RFC 6298's initial RTO).
            var budget = TimeSpan.FromMilliseconds(900);

            await DropSynsAsync(hosts.Name, drop: true);
            var waited = AgentPortWaiter.WaitAcceptingAsync(address, UpstreamHosts.Port, budget, Ct);
            var kernel = KernelConnectAsync(address, budget);
            await Task.Delay(150, Ct);
            await DropSynsAsync(hosts.Name, drop: false);

            Assert.True(await waited, "no connection within the budget although SYNs passed again after 150 ms");
            // The control: the same wait done by one connect misses the budget (its SYN was dropped).
            Assert.False(await kernel, "a single connect got through: the dropped SYNs were not dropped");
        }
        finally
        {
            TestPrefix.Retire(owner);
        }
    }

    [Fact]
    public async Task Nothing_listening_is_false_once_the_budget_passed()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // the port refuses from now on

        Assert.False(await AgentPortWaiter.WaitAcceptingAsync(IPAddress.Loopback, port, TimeSpan.FromMilliseconds(300), Ct));
    }

    [Fact]
    public async Task A_listener_that_starts_while_it_waits_is_found()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();

        var waited = AgentPortWaiter.WaitAcceptingAsync(IPAddress.Loopback, port, TimeSpan.FromSeconds(20), Ct);
        await Task.Delay(200, Ct);
        Assert.False(waited.IsCompleted);
        using var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();

        Assert.True(await waited);
    }

    private static async Task<bool> KernelConnectAsync(IPAddress address, TimeSpan budget)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(budget);
        try
        {
            await socket.ConnectAsync(address, UpstreamHosts.Port, timeout.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>A table in the hosts' own namespace (it goes with the namespace) that drops every SYN to their port.</summary>
    private static Task DropSynsAsync(string @namespace, bool drop) =>
        HostCommand.RunAsync("ip", ["netns", "exec", @namespace, "nft", "-f", "-"], CancellationToken.None, drop
            ? $"table ip wt_drop_syn {{\n chain input {{\n  type filter hook input priority -10;\n  tcp dport {UpstreamHosts.Port} tcp flags & (syn | ack) == syn drop\n }}\n}}\n"
            : "delete table ip wt_drop_syn\n");
}
