using System.Net;
using System.Net.Sockets;
using Wrenn.Guest.Protocol;

namespace Wrenn.Guest.Tests;

/// <summary>
/// AgentProbe tells the gRPC agent from the old Connect agent (which snapshots taken before the
/// switch hold) from nothing answering. The Connect agent is the real one, published from git
/// history by scripts/setup.d/31-agent-connect.sh.
/// </summary>
public sealed class AgentProbeTests(AgentProcessFixture grpcAgent, ConnectAgentFixture connectAgent)
    : IClassFixture<AgentProcessFixture>, IClassFixture<ConnectAgentFixture>
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(2);
    private readonly CancellationToken Ct = TestContext.Timeout(60);

    [Fact]
    public async Task The_grpc_agent_is_recognised_with_its_protocol_version_and_capabilities()
    {
        var probe = await AgentProbe.ProbeAsync(IPAddress.Loopback, grpcAgent.Port, StepTimeout, Ct);
        Assert.Equal(AgentKind.Grpc, probe.Kind);
        Assert.Equal(AgentEndpoint.ProtocolVersion, probe.ProtocolVersion);
        Assert.True(probe.Has(AgentEndpoint.Capabilities.Pty) && probe.Has(AgentEndpoint.Capabilities.Watch) && probe.Has(AgentEndpoint.Capabilities.ClockRestore));
        Assert.StartsWith($"gRPC agent (protocol {AgentEndpoint.ProtocolVersion}", probe.ToString());
    }

    [Fact]
    public async Task The_old_connect_agent_is_recognised_as_such()
    {
        var probe = await AgentProbe.ProbeAsync(IPAddress.Loopback, connectAgent.Port, StepTimeout, Ct);
        Assert.Equal(AgentKind.Connect, probe.Kind);
        Assert.StartsWith("1.0.0-connect.", probe.Version);
        Assert.Equal(0, probe.ProtocolVersion);
    }

    [Fact]
    public async Task The_grpc_client_against_the_connect_agent_fails_with_a_status_instead_of_hanging()
    {
        using var client = connectAgent.NewClient();
        var error = await Assert.ThrowsAsync<AgentException>(() => client.HealthAsync(Ct, StepTimeout));
        Assert.NotEqual(Grpc.Core.StatusCode.OK, error.Code);
    }

    [Fact]
    public async Task A_port_where_nothing_listens_is_not_answering()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var probe = await AgentProbe.ProbeAsync(IPAddress.Loopback, port, StepTimeout, Ct);
        Assert.Equal(AgentKind.NotAnswering, probe.Kind);
        Assert.Contains($"127.0.0.1:{port}", probe.Detail);
    }

    [Fact]
    public async Task Something_that_accepts_but_never_answers_is_unrecognized()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var held = new List<Socket>();
        var accepting = Task.Run(async () =>
        {
            try
            {
                while (true)
                    held.Add(await listener.AcceptSocketAsync(Ct));
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        });
        try
        {
            var probe = await AgentProbe.ProbeAsync(IPAddress.Loopback, port, TimeSpan.FromSeconds(1), Ct);
            Assert.Equal(AgentKind.Unrecognized, probe.Kind);
            Assert.Contains("neither gRPC", probe.Detail);
        }
        finally
        {
            listener.Stop();
            await accepting;
            foreach (var socket in held)
                socket.Dispose();
        }
    }
}
