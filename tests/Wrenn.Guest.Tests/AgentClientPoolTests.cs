using System.Globalization;

namespace Wrenn.Guest.Tests;

/// <summary>
/// The silo-side client's connection pool: after a VM restore the pooled connections lead nowhere,
/// so <c>DropConnections</c> must really close them and later calls must open new ones.
/// </summary>
public sealed class AgentClientPoolTests(AgentProcessFixture agent) : IClassFixture<AgentProcessFixture>
{
    private readonly CancellationToken Ct = TestContext.Timeout(60);

    [Fact]
    public async Task Calls_reuse_one_pooled_connection()
    {
        using var client = agent.NewClient();
        await client.HealthAsync(Ct);
        var first = await ClientConnectionsAsync();
        await client.HealthAsync(Ct);
        await client.ListProcessesAsync(Ct);
        Assert.Single(first);
        Assert.Equal(first, await ClientConnectionsAsync());
    }

    [Fact]
    public async Task DropConnections_closes_the_pooled_connection_and_the_next_call_opens_a_new_one()
    {
        using var client = agent.NewClient();
        await client.HealthAsync(Ct);
        var before = Assert.Single(await ClientConnectionsAsync());

        client.DropConnections();
        // The close is immediate; the poll only covers the kernel's bookkeeping, not a speed bar.
        for (var i = 0; i < 50 && (await ClientConnectionsAsync()).Count > 0; i++)
            await Task.Delay(100, Ct);
        Assert.Empty(await ClientConnectionsAsync());

        await client.HealthAsync(Ct);
        var after = Assert.Single(await ClientConnectionsAsync());
        Assert.NotEqual(before, after);
    }

    /// <summary>
    /// The local ports of established client-side connections to this class's agent, from
    /// /proc/net/tcp and tcp6. Only this class talks to that agent, and its tests run one at a time.
    /// </summary>
    private async Task<List<int>> ClientConnectionsAsync()
    {
        var ports = new List<int>();
        // .NET's client sockets are dual-mode IPv6 sockets: their IPv4 connections show in tcp6.
        var lines = (await File.ReadAllLinesAsync("/proc/net/tcp", Ct)).Skip(1)
            .Concat((await File.ReadAllLinesAsync("/proc/net/tcp6", Ct)).Skip(1));
        foreach (var line in lines)
        {
            // sl local_address rem_address st ...: addresses are HEXIP:HEXPORT, state 01 is ESTABLISHED.
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var remotePort = int.Parse(fields[2].Split(':')[1], NumberStyles.HexNumber);
            if (remotePort == agent.Port && fields[3] == "01")
                ports.Add(int.Parse(fields[1].Split(':')[1], NumberStyles.HexNumber));
        }
        ports.Sort();
        return ports;
    }
}
