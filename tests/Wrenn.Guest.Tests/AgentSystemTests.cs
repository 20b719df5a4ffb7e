using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Wrenn.Guest.Protocol;
using Wrenn.Guest.Protocol.Connect;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Tests;

/// <summary>
/// The agent's System service, against the published agent binary running on the host. SetTime is
/// only checked up to the point where it would change the clock: on the host it would set the
/// host's clock. The VM tests set a guest's clock for real.
/// </summary>
public sealed class AgentSystemTests(AgentProcessFixture agent) : IClassFixture<AgentProcessFixture>
{
    private readonly CancellationToken Ct = TestContext.Timeout(60);

    [Fact]
    public async Task Health_reports_a_version_and_an_uptime_that_grows()
    {
        using var client = agent.NewClient();
        var first = await client.HealthAsync(Ct);
        await Task.Delay(200, Ct);
        var second = await client.HealthAsync(Ct);
        Assert.False(string.IsNullOrEmpty(first.Version));
        Assert.True(second.UptimeMs > first.UptimeMs, $"uptime went from {first.UptimeMs} to {second.UptimeMs} ms");
    }

    [Fact]
    public async Task GetTime_reads_the_wall_clock_the_agent_runs_under()
    {
        using var client = agent.NewClient();
        var before = DateTimeOffset.UtcNow;
        var time = await client.GetTimeAsync(Ct);
        var after = DateTimeOffset.UtcNow;
        // Same machine, same clock: the answer lies between the two local readings.
        Assert.InRange(time, before.AddMilliseconds(-1), after.AddMilliseconds(1));
    }

    [Fact]
    public async Task SetTime_refuses_a_time_before_1970_without_touching_the_clock()
    {
        using var client = agent.NewClient();
        var error = await Assert.ThrowsAsync<ConnectException>(() => client.SetTimeAsync(DateTimeOffset.UnixEpoch.AddDays(-1), Ct));
        Assert.Equal(ConnectCode.InvalidArgument, error.Code);
        Assert.InRange(await client.GetTimeAsync(Ct), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
    }

    [Fact]
    public async Task HasPtpClock_tells_whether_dev_ptp0_exists()
    {
        using var client = agent.NewClient();
        var expected = File.Exists("/dev/ptp0");
        Assert.Equal(expected, await client.HasPtpClockAsync(Ct));
        Assert.Equal(expected, (await client.HealthAsync(Ct)).HasPtpClock);
    }

    [Fact]
    public async Task ReseedRandom_mixes_host_bytes_into_the_kernel_rng()
    {
        // On the host this adds 64 random bytes to the host's own pool: harmless, and the real ioctl.
        using var client = agent.NewClient();
        await client.ReseedRandomAsync(RandomNumberGenerator.GetBytes(64), Ct);
    }

    [Fact]
    public async Task ReseedRandom_refuses_a_seed_too_short_to_matter()
    {
        using var client = agent.NewClient();
        var error = await Assert.ThrowsAsync<ConnectException>(() => client.ReseedRandomAsync(new byte[4], Ct));
        Assert.Equal(ConnectCode.InvalidArgument, error.Code);
    }

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
    public async Task The_client_timeout_of_a_command_kills_it_and_says_deadline_exceeded()
    {
        using var client = agent.NewClient();
        var marker = $"wt-deadline-{Guid.NewGuid():N}";
        var error = await Assert.ThrowsAsync<ConnectException>(() =>
            client.ExecAsync(new StartRequest { Command = "sleep", Args = { "30" }, Tag = marker }, Ct, TimeSpan.FromSeconds(1)));
        Assert.Equal(ConnectCode.DeadlineExceeded, error.Code);
        // The agent notices the closed stream on its own deadline; give it a moment, not a speed bar.
        for (var i = 0; i < 50 && (await client.ListProcessesAsync(Ct)).Any(p => p.Tag == marker); i++)
            await Task.Delay(100, Ct);
        Assert.DoesNotContain(await client.ListProcessesAsync(Ct), p => p.Tag == marker);
    }
}
