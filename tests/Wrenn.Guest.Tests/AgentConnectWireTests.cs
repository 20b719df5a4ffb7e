using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Google.Protobuf;
using Wrenn.Guest.Protocol;
using Wrenn.Guest.Protocol.Connect;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Tests;

/// <summary>
/// The Connect protocol as the agent speaks it on the wire, checked with raw HTTP requests (not our
/// client), against the published agent binary running on the host.
/// </summary>
public sealed class AgentConnectWireTests(AgentProcessFixture agent) : IClassFixture<AgentProcessFixture>
{
    private readonly CancellationToken Ct = TestContext.Timeout(60);

    [Fact]
    public async Task A_unary_error_carries_the_http_status_of_its_code_and_a_json_body()
    {
        using var http = new HttpClient();
        using var content = new StringContent("""{"path": "/no/such/file/wt"}""", Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(agent.BaseAddress, AgentEndpoint.Filesystem.Stat)) { Content = content };
        request.Headers.Add("Connect-Protocol-Version", "1");
        using var response = await http.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.Contains("\"code\":\"not_found\"", body);
        Assert.Contains("/no/such/file/wt", body);
    }

    [Fact]
    public async Task Json_names_enum_values_as_the_proto_file_does()
    {
        // The NativeAOT agent formats JSON through Google.Protobuf's reflection: enum names must survive trimming.
        using var http = new HttpClient();
        using var content = new StringContent("""{"path": "/"}""", Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await http.PostAsync(new Uri(agent.BaseAddress, AgentEndpoint.Filesystem.Stat), content, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"type\":\"ENTRY_TYPE_DIRECTORY\"", body.Replace(" ", ""));
    }

    [Fact]
    public async Task A_streaming_call_past_its_connect_timeout_ends_with_deadline_exceeded_in_the_end_of_stream_message()
    {
        using var http = new HttpClient();
        var start = new StartRequest { Command = "sleep", Args = { "30" } };
        using var body = new MemoryStream();
        await Envelope.WriteAsync(body, 0, start.ToByteArray(), Ct);
        using var content = new ByteArrayContent(body.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/connect+proto");
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(agent.BaseAddress, AgentEndpoint.Process.Start)) { Content = content };
        request.Headers.Add("Connect-Protocol-Version", "1");
        request.Headers.Add("Connect-Timeout-Ms", "1500");
        using var response = await http.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var stream = await response.Content.ReadAsStreamAsync(Ct);

        var envelopes = new List<(byte Flags, byte[] Payload)>();
        while (await Envelope.ReadAsync(stream, Ct) is { } envelope)
            envelopes.Add(envelope);
        var pid = ProcessEvent.Parser.ParseFrom(envelopes[0].Payload).Started.Pid;
        var end = envelopes[^1];
        Assert.Equal(Envelope.EndStreamFlag, end.Flags);
        Assert.Equal(ConnectCode.DeadlineExceeded, ConnectCodec.ParseEndStream(end.Payload)?.Code);

        using var client = agent.NewClient();
        Assert.DoesNotContain(await client.ListProcessesAsync(Ct), p => p.Pid == pid);
    }

    [Fact]
    public async Task A_compressed_request_is_unimplemented_because_only_identity_is_supported()
    {
        using var http = new HttpClient();
        using var content = new ByteArrayContent([0x1f, 0x8b, 0x08, 0x00]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/proto");
        content.Headers.ContentEncoding.Add("gzip");
        using var response = await http.PostAsync(new Uri(agent.BaseAddress, AgentEndpoint.System.Health), content, Ct);
        Assert.Equal(HttpStatusCode.NotImplemented, response.StatusCode);
        var error = ConnectCodec.ParseError(await response.Content.ReadAsByteArrayAsync(Ct), (int)response.StatusCode);
        Assert.Equal(ConnectCode.Unimplemented, error.Code);
        Assert.Contains("identity", error.Message);
    }

    [Fact]
    public async Task An_unknown_procedure_is_answered_with_404()
    {
        using var http = new HttpClient();
        using var content = new ByteArrayContent([]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/proto");
        using var response = await http.PostAsync(new Uri(agent.BaseAddress, "wrenn.guest.v1.SystemService/NoSuchMethod"), content, Ct);
        // A client without a Connect body infers unimplemented from 404.
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(ConnectCode.Unimplemented, ConnectCodes.FromHttpStatus((int)response.StatusCode));
    }

    [Fact]
    public async Task A_request_over_the_size_limit_is_resource_exhausted()
    {
        using var http = new HttpClient();
        var request = new WriteRequest { Path = "/tmp/wt-never-written", Data = ByteString.CopyFrom(new byte[Envelope.MaxMessageBytes + 1024]) };
        using var content = new ByteArrayContent(request.ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/proto");
        using var response = await http.PostAsync(new Uri(agent.BaseAddress, AgentEndpoint.Filesystem.Write), content, Ct);
        var error = ConnectCodec.ParseError(await response.Content.ReadAsByteArrayAsync(Ct), (int)response.StatusCode);
        Assert.Equal(ConnectCode.ResourceExhausted, error.Code);
        Assert.Equal(429, (int)response.StatusCode);
        Assert.False(File.Exists("/tmp/wt-never-written"));
    }

    [Fact]
    public async Task Input_to_a_command_that_does_not_read_it_ends_at_the_deadline()
    {
        using var client = agent.NewClient();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var request = new StartRequest { Command = "sleep", Args = { "30" }, Stdin = true };
        await using var events = client.StartAsync(request, stop.Token).GetAsyncEnumerator(stop.Token);
        Assert.True(await events.MoveNextAsync());
        var pid = events.Current.Started.Pid;

        // 1 MiB does not fit the pipe (64 KiB), and sleep never reads: the write blocks.
        using var http = new HttpClient();
        var input = new SendInputRequest { Pid = pid, Data = ByteString.CopyFrom(new byte[1024 * 1024]) };
        using var content = new ByteArrayContent(input.ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/proto");
        using var message = new HttpRequestMessage(HttpMethod.Post, new Uri(agent.BaseAddress, AgentEndpoint.Process.SendInput)) { Content = content };
        message.Headers.Add("Connect-Timeout-Ms", "1000");
        using var response = await http.SendAsync(message, Ct);
        var error = ConnectCodec.ParseError(await response.Content.ReadAsByteArrayAsync(Ct), (int)response.StatusCode);
        Assert.Equal(ConnectCode.DeadlineExceeded, error.Code);
        await stop.CancelAsync();
    }
}
