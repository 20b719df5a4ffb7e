using System.Net;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Wrenn.Guest.Protocol;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Tests;

/// <summary>
/// The agent's gRPC endpoint as seen from the wire: raw channels and requests, not AgentClient,
/// against the published agent binary running on the host.
/// </summary>
public sealed class AgentGrpcWireTests(AgentProcessFixture agent) : IClassFixture<AgentProcessFixture>
{
    private readonly CancellationToken Ct = TestContext.Timeout(60);

    [Fact]
    public async Task The_agent_speaks_http2_only_and_refuses_http1()
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(agent.BaseAddress, "wrenn.guest.v1.SystemService/Health"))
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent([]),
        };
        // Kestrel answers an HTTP/1.x request on an HTTP/2-only endpoint with 400 and closes.
        using var response = await http.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("HTTP/2", await response.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task Cleartext_http2_with_prior_knowledge_reaches_the_health_call()
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(agent.BaseAddress, "wrenn.guest.v1.SystemService/Health"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            // A gRPC message: not compressed, length 0 (an empty HealthRequest).
            Content = new ByteArrayContent([0, 0, 0, 0, 0]),
        };
        request.Content.Headers.ContentType = new("application/grpc");
        request.Headers.TE.ParseAdd("trailers");
        using var response = await http.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsByteArrayAsync(Ct);
        var health = HealthResponse.Parser.ParseFrom(body.AsSpan(5));
        Assert.Equal(AgentEndpoint.ProtocolVersion, health.ProtocolVersion);
        Assert.Equal("0", response.TrailingHeaders.GetValues("grpc-status").Single());
    }

    [Fact]
    public async Task An_unknown_method_is_unimplemented()
    {
        using var channel = GrpcChannel.ForAddress(agent.BaseAddress);
        var method = new Method<HealthRequest, HealthResponse>(MethodType.Unary, "wrenn.guest.v1.SystemService", "NoSuchMethod",
            Marshallers.Create(r => r.ToByteArray(), HealthRequest.Parser.ParseFrom), Marshallers.Create(r => r.ToByteArray(), HealthResponse.Parser.ParseFrom));
        var error = await Assert.ThrowsAsync<RpcException>(() => channel.CreateCallInvoker().AsyncUnaryCall(method, null, new CallOptions(cancellationToken: Ct), new HealthRequest()).ResponseAsync);
        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
    }

    [Fact]
    public async Task A_message_over_the_size_limit_is_resource_exhausted_and_writes_nothing()
    {
        // A channel without the client's own limit, so that the agent's is what refuses.
        using var channel = GrpcChannel.ForAddress(agent.BaseAddress, new GrpcChannelOptions { MaxSendMessageSize = null });
        var files = new FilesystemService.FilesystemServiceClient(channel);
        var path = $"/tmp/wt-never-written-{Guid.NewGuid():N}";
        var request = new WriteRequest { Path = path, Data = ByteString.CopyFrom(new byte[AgentClient.MaxMessageBytes + 1024]), Truncate = true };
        var error = await Assert.ThrowsAsync<RpcException>(() => files.WriteAsync(request, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public async Task Input_to_a_command_that_does_not_read_it_ends_at_the_deadline()
    {
        using var client = agent.NewClient();
        var started = await client.StartProcessAsync(new StartRequest { Command = "sleep", Args = { "30" } }, Ct);
        try
        {
            // 1 MiB does not fit the pipe (64 KiB), and sleep never reads: the write blocks.
            using var channel = GrpcChannel.ForAddress(agent.BaseAddress);
            var processes = new ProcessService.ProcessServiceClient(channel);
            var input = new SendInputRequest { Pid = started.Pid, Data = ByteString.CopyFrom(new byte[1024 * 1024]) };
            var error = await Assert.ThrowsAsync<RpcException>(() =>
                processes.SendInputAsync(input, deadline: DateTime.UtcNow.AddSeconds(1), cancellationToken: Ct).ResponseAsync);
            Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        }
        finally
        {
            await client.SendSignalAsync(started.Pid, Signal.Kill, Ct);
        }
    }
}
