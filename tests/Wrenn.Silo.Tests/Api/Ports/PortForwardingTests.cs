using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.Silo.Tests.Api.Ports;

/// <summary>
/// Port forwarding on the API's silo, end to end on a real VM running an HTTP server, a WebSocket echo
/// and a loopback-only server (guest-servers.py): with the team's key, with port URLs and on host names.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class PortForwardingTests(ApiFixture api) : IDisposable
{
    private readonly PortClient _client = new();

    private Uri Url(string sandboxId, int port, string rest = "") => PortClient.PortPath(api.BaseAddress, sandboxId, port, rest);

    private static string HostName(string sandboxId, int port) => $"{port}-{sandboxId}.{ApiFixture.ProxyDomain}";

    private async Task<(string Url, DateTimeOffset ExpiresAt)> PortUrlAsync(string sandboxId, int port, int ttlSeconds = 600)
    {
        var (_, body) = await api.GraphQLAsync(api.AdminKey, "mutation ($id: ID!, $port: Int!, $ttl: Int) { createPortUrl(sandboxId: $id, port: $port, ttlSeconds: $ttl) { url expiresAt } }",
            new { id = sandboxId, port, ttl = ttlSeconds });
        Assert.True(body["errors"] is null, body.ToJsonString());
        var made = body["data"]!["createPortUrl"]!;
        return (made["url"]!.GetValue<string>(), DateTimeOffset.Parse(made["expiresAt"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_key_reaches_the_guest_at_the_path_after_the_port_with_any_method_and_the_key_stays_out()
    {
        var servers = await PortServerSandbox.SharedAsync(api);
        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Post, HttpMethod.Put, HttpMethod.Patch, HttpMethod.Delete, HttpMethod.Options })
        {
            var body = method == HttpMethod.Get ? null : Encoding.UTF8.GetBytes($"the body of a {method}");
            var echo = await _client.EchoAsync(method, Url(servers.Id, PortServerSandbox.HttpPort, "a/b?q=1"), api.AdminKey, body is null ? null : new ByteArrayContent(body));
            Assert.Equal((method.Method, "/a/b?q=1"), (echo["method"]!.GetValue<string>(), echo["path"]!.GetValue<string>()));
            Assert.Null(PortClient.Header(echo, "Authorization"));
            Assert.Equal(api.BaseAddress.Authority, PortClient.Header(echo, "Host"));
            if (body is not null)
                Assert.Equal(PortClient.Sha256(body), echo["bodySha256"]!.GetValue<string>());
        }
        var root = await _client.EchoAsync(HttpMethod.Get, new Uri(api.BaseAddress, $"/sandboxes/{servers.Id}/ports/{PortServerSandbox.HttpPort}"), api.AdminKey);
        Assert.Equal("/", root["path"]!.GetValue<string>());

        using var hello = await _client.GetAsync(Url(servers.Id, PortServerSandbox.HttpPort, "hello"), api.AdminKey);
        Assert.Equal("hello from the guest\n", await hello.Content.ReadAsStringAsync());
        Assert.Contains(api.Silo.Host.SiloName, string.Join(", ", hello.Headers.Via));
    }

    [Fact]
    public async Task Wrong_requests_get_401_404_400_403_or_502_naming_what_is_wrong()
    {
        var servers = await PortServerSandbox.SharedAsync(api);
        async Task<(HttpStatusCode Status, string Body)> AskAsync(string path, string? key)
        {
            using var response = await _client.GetAsync(new Uri(api.BaseAddress, path), key);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        var http = $"/sandboxes/{servers.Id}/ports/{PortServerSandbox.HttpPort}/hello";

        using (var bare = await _client.GetAsync(new Uri(api.BaseAddress, http)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, bare.StatusCode);
            Assert.Equal("Bearer", bare.Headers.WwwAuthenticate.Single().Scheme);
            Assert.Contains("API key", await bare.Content.ReadAsStringAsync());
        }
        Assert.Equal(HttpStatusCode.Unauthorized, (await AskAsync(http, "wrn_" + new string('x', 43))).Status);

        var otherTeam = await ApiTeam.CreateAsync(api);
        var theirs = await AskAsync(http, otherTeam.Key);
        Assert.Equal(HttpStatusCode.NotFound, theirs.Status);
        Assert.Contains(servers.Id, theirs.Body);
        Assert.Equal(HttpStatusCode.NotFound, (await AskAsync($"/sandboxes/sb-{Guid.NewGuid()}/ports/8000/", api.AdminKey)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await AskAsync("/sandboxes/not-a-sandbox/ports/8000/", api.AdminKey)).Status);

        foreach (var port in new[] { "0", "65536", "http", "-1" })
        {
            var bad = await AskAsync($"/sandboxes/{servers.Id}/ports/{port}/", api.AdminKey);
            Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
            Assert.Contains("1 to 65535", bad.Body);
        }
        Assert.Equal(HttpStatusCode.Forbidden, (await AskAsync($"/sandboxes/{servers.Id}/ports/49999/", api.AdminKey)).Status);

        foreach (var port in new[] { 8002, PortServerSandbox.LoopbackPort })
        {
            var nothing = await AskAsync($"/sandboxes/{servers.Id}/ports/{port}/", api.AdminKey);
            Assert.Equal(HttpStatusCode.BadGateway, nothing.Status);
            Assert.Contains($"Nothing is listening on port {port} in sandbox {servers.Id}", nothing.Body);
        }
    }

    [Fact]
    public async Task While_the_sandbox_is_paused_the_forward_answers_503_and_after_a_resume_it_reaches_the_same_server()
    {
        var servers = await PortServerSandbox.SharedAsync(api);
        var hello = Url(servers.Id, PortServerSandbox.HttpPort, "hello");
        using (var before = await _client.GetAsync(hello, api.AdminKey))
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);

        await servers.Grain.PauseAsync(api.Silo.Admin);
        try
        {
            using var paused = await _client.GetAsync(hello, api.AdminKey);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, paused.StatusCode);
            Assert.Contains("paused", await paused.Content.ReadAsStringAsync());
            var (_, ports) = await api.GraphQLAsync(api.AdminKey, "query ($id: ID!) { sandbox(id: $id) { listeningPorts { port } } }", new { id = servers.Id });
            Assert.Equal("[]", ports["data"]!["sandbox"]!["listeningPorts"]!.ToJsonString());
        }
        finally
        {
            await servers.Grain.ResumeAsync(api.Silo.Admin);
        }

        // The resumed guest is reached on its new path, not through a connection kept for the old one.
        using var after = await _client.GetAsync(hello, api.AdminKey);
        Assert.Equal("hello from the guest\n", await after.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_port_URL_reaches_the_port_without_a_key_and_its_token_never_reaches_the_guest()
    {
        var servers = await PortServerSandbox.SharedAsync(api);
        var asked = DateTimeOffset.UtcNow;
        var (url, expiresAt) = await PortUrlAsync(servers.Id, PortServerSandbox.HttpPort, ttlSeconds: 600);
        Assert.StartsWith(new Uri(api.BaseAddress, "/p/").ToString(), url);
        Assert.EndsWith("/", url);
        Assert.InRange(expiresAt, asked.AddSeconds(598), DateTimeOffset.UtcNow.AddSeconds(601));
        var token = url.TrimEnd('/').Split('/')[^1];

        var echo = await _client.EchoAsync(HttpMethod.Post, new Uri(url + "echo/x?y=2"), content: new StringContent("posted"), headers: h =>
        {
            h.Referrer = new Uri(url + "page");
            h.Authorization = new("Basic", "dXNlcjpwYXNz"); // the app's own: it passes through
        });
        Assert.Equal(("POST", "/echo/x?y=2"), (echo["method"]!.GetValue<string>(), echo["path"]!.GetValue<string>()));
        Assert.Equal("Basic dXNlcjpwYXNz", PortClient.Header(echo, "Authorization"));
        Assert.Equal(new Uri(api.BaseAddress, "/page").ToString(), PortClient.Header(echo, "Referer"));
        Assert.DoesNotContain(token, echo.ToJsonString());

        using (var redirect = await _client.GetAsync(new Uri(url + "redirect")))
        {
            Assert.Equal(HttpStatusCode.Found, redirect.StatusCode);
            Assert.Equal($"/p/{token}/hello", redirect.Headers.Location!.OriginalString);
        }

        // The token opens its own port of its own sandbox, nothing else.
        using (var otherPort = await _client.GetAsync(new Uri(api.BaseAddress, $"/p/{token}/"), host: HostName(servers.Id, PortServerSandbox.WebSocketPort)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, otherPort.StatusCode);
            Assert.Contains($"for port {PortServerSandbox.HttpPort} of sandbox {servers.Id}", await otherPort.Content.ReadAsStringAsync());
        }
        var tampered = token[..10] + (token[10] == 'A' ? 'B' : 'A') + token[11..];
        using (var forged = await _client.GetAsync(new Uri(api.BaseAddress, $"/p/{tampered}/hello")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
            Assert.Contains("not valid", await forged.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task createPortUrl_refuses_other_teams_sandboxes_bad_ports_and_lifetimes_and_an_expired_URL_gets_401()
    {
        var servers = await PortServerSandbox.SharedAsync(api);
        const string create = "mutation ($id: ID!, $port: Int!, $ttl: Int) { createPortUrl(sandboxId: $id, port: $port, ttlSeconds: $ttl) { url } }";
        string? Code(JsonObject body) => body["errors"]?[0]?["extensions"]?["code"]?.GetValue<string>();
        var other = await ApiTeam.CreateAsync(api);
        Assert.Equal("NOT_FOUND", Code((await api.GraphQLAsync(other.Key, create, new { id = servers.Id, port = 8000, ttl = 60 })).Body));
        foreach (var (port, ttl) in new[] { (0, 60), (65536, 60), (8000, 0), (8000, 8 * 24 * 3600) })
        {
            var (_, refused) = await api.GraphQLAsync(api.AdminKey, create, new { id = servers.Id, port, ttl });
            Assert.Equal("BAD_USER_INPUT", Code(refused));
            Assert.Contains(port is < 1 or > 65535 ? "port" : "ttlSeconds", refused["errors"]![0]!["message"]!.GetValue<string>());
        }

        var (url, expiresAt) = await PortUrlAsync(servers.Id, PortServerSandbox.HttpPort, ttlSeconds: 1);
        while (DateTimeOffset.UtcNow <= expiresAt)
            await Task.Delay(200);
        using var expired = await _client.GetAsync(new Uri(url + "hello"));
        Assert.Equal(HttpStatusCode.Unauthorized, expired.StatusCode);
        Assert.Contains("expired", await expired.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Host_named_requests_reach_the_port_at_the_root_with_a_key_or_a_port_URL()
    {
        var servers = await PortServerSandbox.SharedAsync(api);
        var host = HostName(servers.Id, PortServerSandbox.HttpPort);
        var echo = await _client.EchoAsync(HttpMethod.Get, new Uri(api.BaseAddress, "/graphql?x=1"), api.AdminKey, host: host);
        Assert.Equal("/graphql?x=1", echo["path"]!.GetValue<string>());
        Assert.Equal(host, PortClient.Header(echo, "Host"));
        Assert.Null(PortClient.Header(echo, "Authorization"));

        var (url, _) = await PortUrlAsync(servers.Id, PortServerSandbox.HttpPort);
        var withToken = await _client.EchoAsync(HttpMethod.Get, new Uri(api.BaseAddress, new Uri(url).AbsolutePath + "echo"), host: host);
        Assert.Equal("/echo", withToken["path"]!.GetValue<string>());

        using (var redirect = await _client.GetAsync(new Uri(api.BaseAddress, "/redirect"), api.AdminKey, host))
            Assert.Equal("/hello", redirect.Headers.Location!.OriginalString);
        using (var redirect = await _client.GetAsync(Url(servers.Id, PortServerSandbox.HttpPort, "redirect"), api.AdminKey))
            Assert.Equal($"/sandboxes/{servers.Id}/ports/{PortServerSandbox.HttpPort}/hello", redirect.Headers.Location!.OriginalString);

        using (var noCredentials = await _client.GetAsync(new Uri(api.BaseAddress, "/hello"), host: host))
            Assert.Equal(HttpStatusCode.Unauthorized, noCredentials.StatusCode);
        using (var badPort = await _client.GetAsync(new Uri(api.BaseAddress, "/hello"), api.AdminKey, $"99999-{servers.Id}.{ApiFixture.ProxyDomain}"))
            Assert.Equal(HttpStatusCode.BadRequest, badPort.StatusCode);
        // Another domain is not a sandbox's: the API answers (it has no /hello).
        using (var elsewhere = await _client.GetAsync(new Uri(api.BaseAddress, "/hello"), api.AdminKey, $"8000-{servers.Id}.elsewhere.test"))
            Assert.Equal(HttpStatusCode.NotFound, elsewhere.StatusCode);
    }

    [Fact]
    public async Task WebSocket_messages_echo_through_the_forward_with_a_key_and_with_a_port_URL()
    {
        var servers = await PortServerSandbox.SharedAsync(api);
        await PortClient.EchoOverWebSocketAsync(new UriBuilder(Url(servers.Id, PortServerSandbox.WebSocketPort)) { Scheme = "ws" }.Uri, api.AdminKey);
        var (url, _) = await PortUrlAsync(servers.Id, PortServerSandbox.WebSocketPort);
        await PortClient.EchoOverWebSocketAsync(new UriBuilder(url) { Scheme = "ws" }.Uri, key: null);
    }

    [Fact]
    public async Task Server_sent_events_arrive_as_the_guest_sends_them()
    {
        var servers = await PortServerSandbox.SharedAsync(api);
        var go = $"/tmp/events-go-{Guid.NewGuid():N}";
        using var response = await _client.SendAsync(HttpMethod.Get, Url(servers.Id, PortServerSandbox.HttpPort, $"events?hold={go}"), api.AdminKey,
            headers: h => h.Accept.ParseAdd("text/event-stream"), completion: HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var events = new StreamReader(await response.Content.ReadAsStreamAsync());
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        // The second event waits for a file only this test makes after reading the first: a forward that held the stream back never gets here.
        Assert.Equal("data: one", await events.ReadLineAsync(limit.Token));
        Assert.Equal("", await events.ReadLineAsync(limit.Token));
        await servers.TouchAsync(go);
        Assert.Equal("data: two", await events.ReadLineAsync(limit.Token));
    }

    [Fact]
    public async Task Fifty_MiB_stream_up_and_down_through_the_forward_as_they_are_sent()
    {
        var servers = await PortServerSandbox.SharedAsync(api);
        const int mib = 1024 * 1024;
        const long size = 50L * mib;

        // Up: the first 1,000 bytes must reach the guest before the rest is sent (no buffer on the way holds them back).
        const int first = 1000;
        var progress = $"/tmp/upload-progress-{Guid.NewGuid():N}";
        var block = RandomNumberGenerator.GetBytes(mib);
        var upload = new SignalledContent(block, size / mib, first, async () =>
        {
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (!(long.TryParse(await servers.ReadAsync(progress), out var received) && received >= first))
            {
                Assert.True(DateTime.UtcNow < deadline, $"the guest did not receive the upload's first {first} bytes while the rest was held back: the forward buffers request bodies");
                await Task.Delay(200);
            }
        });
        var uploaded = await _client.EchoAsync(HttpMethod.Post, Url(servers.Id, PortServerSandbox.HttpPort, $"upload?progress={progress}"), api.AdminKey, upload);
        Assert.Equal((size, upload.Sha256), (uploaded["length"]!.GetValue<long>(), uploaded["sha256"]!.GetValue<string>()));

        // Down: the guest sends the first MiB and waits for a file that is made once that MiB arrived here.
        var go = $"/tmp/download-go-{Guid.NewGuid():N}";
        using var response = await _client.SendAsync(HttpMethod.Get, Url(servers.Id, PortServerSandbox.HttpPort, $"download?size={size}&hold={go}"), api.AdminKey,
            completion: HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(size, response.Content.Headers.ContentLength);
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[256 * 1024];
        long read = 0;
        var signalled = false;
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        int n;
        while ((n = await body.ReadAsync(buffer, limit.Token)) > 0)
        {
            for (var i = 0; i < n; i++)
            {
                if (buffer[i] != (byte)((read + i) % 256))
                    Assert.Fail($"byte {read + i} of the download is {buffer[i]}, not {(read + i) % 256}");
            }
            read += n;
            if (!signalled && read >= mib)
            {
                await servers.TouchAsync(go);
                signalled = true;
            }
        }
        Assert.Equal(size, read);
    }

    [Fact]
    public async Task The_listening_ports_field_lists_the_guests_servers_and_which_the_forward_reaches()
    {
        var servers = await PortServerSandbox.SharedAsync(api);
        var (_, body) = await api.GraphQLAsync(api.AdminKey, "query ($id: ID!) { sandbox(id: $id) { listeningPorts { port address reachable pid command } } }", new { id = servers.Id });
        var ports = body["data"]!["sandbox"]!["listeningPorts"]!.AsArray();
        JsonNode Port(int port) => ports.Single(p => p!["port"]!.GetValue<int>() == port)!;
        Assert.Equal(("0.0.0.0", true, "python3"), (Port(PortServerSandbox.HttpPort)["address"]!.GetValue<string>(), Port(PortServerSandbox.HttpPort)["reachable"]!.GetValue<bool>(),
            Port(PortServerSandbox.HttpPort)["command"]!.GetValue<string>()));
        Assert.True(Port(PortServerSandbox.WebSocketPort)["reachable"]!.GetValue<bool>());
        Assert.Equal(("127.0.0.1", false), (Port(PortServerSandbox.LoopbackPort)["address"]!.GetValue<string>(), Port(PortServerSandbox.LoopbackPort)["reachable"]!.GetValue<bool>()));
        Assert.True(Port(PortServerSandbox.HttpPort)["pid"]!.GetValue<int>() > 1);
        Assert.DoesNotContain(ports, p => p!["port"]!.GetValue<int>() == 49999);
        Assert.Equal(ports.Select(p => p!["port"]!.GetValue<int>()).Order(), ports.Select(p => p!["port"]!.GetValue<int>()));
    }

    [Fact]
    public async Task The_console_lists_a_sandboxs_listening_ports_and_opens_one_in_a_new_tab()
    {
        if (!File.Exists(Environment.GetEnvironmentVariable("WRENN_CHROMIUM") ?? "/usr/bin/chromium"))
            Assert.Fail("Debian's chromium is missing: scripts/setup installs it (apt install chromium).");
        var servers = await PortServerSandbox.SharedAsync(api);
        var result = await ApiFixture.NodeAsync("console-ports.mjs", api.BaseAddress.ToString().TrimEnd('/'), api.AdminKey, servers.Id, PortServerSandbox.HttpPort.ToString());
        Assert.Null(result["error"]?.GetValue<string>());
        Assert.Contains(PortServerSandbox.HttpPort, result["listed"]!.AsArray().Select(p => p!.GetValue<int>()));
        Assert.StartsWith(new Uri(api.BaseAddress, "/p/").ToString(), result["opened"]!.GetValue<string>());
        Assert.Contains("\"path\": \"/\"", result["page"]!.GetValue<string>());
    }

    public void Dispose() => _client.Dispose();

    /// <summary>A body of <paramref name="blocks"/> copies of <paramref name="block"/> that waits for <paramref name="afterFirst"/> after its first <paramref name="firstBytes"/>.</summary>
    private sealed class SignalledContent(byte[] block, long blocks, int firstBytes, Func<Task> afterFirst) : HttpContent
    {
        public string Sha256 { get; } = Digest(block, blocks);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(block.AsMemory(0, firstBytes));
            await stream.FlushAsync();
            await afterFirst();
            await stream.WriteAsync(block.AsMemory(firstBytes));
            for (var i = 1; i < blocks; i++)
                await stream.WriteAsync(block);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = block.Length * blocks;
            return true;
        }

        private static string Digest(byte[] block, long blocks)
        {
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            for (var i = 0; i < blocks; i++)
                sha.AppendData(block);
            return Convert.ToHexStringLower(sha.GetHashAndReset());
        }
    }
}
