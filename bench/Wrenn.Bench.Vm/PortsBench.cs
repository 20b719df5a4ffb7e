using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Hosting;
using Wrenn.Silo.Sandboxes;
using Wrenn.Testing;
using Wrenn.Testing.Postgres;

/// <summary>
/// Port forwarding's cost, next to the same requests sent from the host straight to the guest's
/// address (the slot's host address, the path the forward itself takes) in the same run: HTTP
/// requests per second to a small page (one at a time and 8 at once) through a port URL and with a
/// key, and a 100 MiB download. The guest serves tests/…/guest-servers.py (Python's http.server).
/// </summary>
internal static class PortsBench
{
    private const int Port = 8000;

    public static async Task RunAsync(int seconds, int downloadMib)
    {
        await HostSweep.RemoveLeftoversAsync();
        var owner = TestPrefix.NewOwner();
        var dataDir = $"/run/wrenn/{owner}-data";
        var host = await WrennSiloHost.StartAsync(new WrennSiloOptions
        {
            DataDir = dataDir,
            ConnectionString = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("portsbench"),
            ImageDir = RepoPaths.ImageDir,
            OwnerPrefix = owner,
            SiloName = $"{owner}-silo",
            OnExit = OnExit.Destroy,
            Configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Wrenn:Api:Port"] = "0" }).Build(),
        }, CancellationToken.None);
        var key = host.FirstAdminKey!;
        var admin = (await host.Teams.AuthenticateAsync(key, CancellationToken.None))!;
        var rows = new List<string>();
        try
        {
            var sandbox = await host.Sandboxes.CreateAsync(admin, new NewSandbox("base", TimeoutSeconds: 3600), CancellationToken.None);
            var grain = host.Sandboxes.Sandbox(sandbox.Id);
            await StartServersAsync(grain, admin);
            var guest = (await host.Store.GetAsync(sandbox.Id, CancellationToken.None))!.Vm!.Network.HostAddress;
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { Timeout = TimeSpan.FromMinutes(10) };

            var direct = new Uri($"http://{guest}:{Port}/");
            var byKey = new Uri(host.ApiAddress, $"/sandboxes/{sandbox.Id}/ports/{Port}/");
            var url = new Uri((await PortUrlAsync(http, host.ApiAddress, key, sandbox.Id)).TrimEnd('/') + "/");
            foreach (var concurrency in new[] { 1, 8 })
            {
                var straight = await RequestsPerSecondAsync(http, new Uri(direct, "hello"), null, seconds, concurrency);
                var viaUrl = await RequestsPerSecondAsync(http, new Uri(url, "hello"), null, seconds, concurrency);
                var viaKey = await RequestsPerSecondAsync(http, new Uri(byKey, "hello"), key, seconds, concurrency);
                rows.Add(Row($"GET /hello, {concurrency} at a time, port URL", viaUrl, straight));
                rows.Add(Row($"GET /hello, {concurrency} at a time, API key", viaKey, straight));
            }

            var size = (long)downloadMib * 1024 * 1024;
            var straightDownload = await DownloadMibPerSecondAsync(http, new Uri(direct, $"download?size={size}"), null, size);
            var forwardedDownload = await DownloadMibPerSecondAsync(http, new Uri(url, $"download?size={size}"), null, size);
            rows.Add($"| {downloadMib} MiB download, port URL | {forwardedDownload:0.0} MiB/s | {straightDownload:0.0} MiB/s | {straightDownload / forwardedDownload:0.00}× |");

            await grain.DestroyAsync(admin);
        }
        finally
        {
            await host.DisposeAsync();
            foreach (var dir in new[] { dataDir, $"/run/wrenn/{owner}" })
            {
                if (Directory.Exists(dir))
                    Directory.Delete(dir, recursive: true);
            }
            TestPrefix.Retire(owner);
        }

        var table = new StringBuilder()
            .AppendLine("# Port forwarding's cost")
            .AppendLine()
            .AppendLine($"`dotnet run -c Release --project bench/Wrenn.Bench.Vm -- ports {seconds} {downloadMib}` on {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}, ")
            .AppendLine($"QEMU accelerator: {File.ReadAllText("/run/wrenn/qemu-accelerator").Trim()}. One silo, one sandbox (1 vCPU, 256 MiB) serving guest-servers.py (Python's http.server, HTTP/1.1 keep-alive);")
            .AppendLine("the client, the silo and the VM share the machine. Baseline in the same run: the same requests from the host straight to the guest's slot address.")
            .AppendLine()
            .AppendLine("| case | through the forward | straight to the guest | cost |")
            .AppendLine("|---|---|---|---|");
        foreach (var row in rows)
            table.AppendLine(row);
        await File.WriteAllTextAsync(Path.Combine(RepoPaths.Root, "bench", "results", "ports.md"), table.ToString());
        Console.WriteLine(table);
    }

    private static async Task StartServersAsync(ISandboxGrain sandbox, Caller caller)
    {
        var script = Path.Combine(RepoPaths.Root, "tests", "Wrenn.Silo.Tests", "Api", "Ports", "guest-servers.py");
        await sandbox.WriteFileAsync(caller, "/root/guest-servers.py", await File.ReadAllBytesAsync(script), CancellationToken.None);
        await sandbox.ExecAsync(caller, new ExecRequest("sh", ["-c", "setsid -f python3 /root/guest-servers.py > /tmp/guest-servers.log 2>&1 < /dev/null"]), CancellationToken.None);
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (!(await sandbox.ListListeningPortsAsync(caller, CancellationToken.None)).Any(p => p.Port == Port))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("guest-servers.py did not listen within 2 minutes");
            await Task.Delay(200);
        }
    }

    private static async Task<string> PortUrlAsync(HttpClient http, Uri api, string key, string sandboxId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(api, "/graphql"))
        {
            Content = new StringContent(new JsonObject
            {
                ["query"] = "mutation ($id: ID!) { createPortUrl(sandboxId: $id, port: 8000) { url } }",
                ["variables"] = new JsonObject { ["id"] = sandboxId },
            }.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await http.SendAsync(request);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["data"]!["createPortUrl"]!["url"]!.GetValue<string>();
    }

    private sealed record Rate(double PerSecond, double P50Ms, double P99Ms);

    /// <summary><paramref name="concurrency"/> loops sending one request after another for <paramref name="seconds"/> (after a warm-up).</summary>
    private static async Task<Rate> RequestsPerSecondAsync(HttpClient http, Uri url, string? key, int seconds, int concurrency)
    {
        async Task<double> OnceAsync()
        {
            var start = Stopwatch.GetTimestamp();
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            if (key is not null)
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var response = await http.SendAsync(request);
            response.EnsureSuccessStatusCode();
            await response.Content.ReadAsByteArrayAsync();
            return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        for (var i = 0; i < 20; i++)
            await OnceAsync();
        var latencies = new List<double>();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                var ms = await OnceAsync();
                lock (latencies)
                    latencies.Add(ms);
            }
        }));
        latencies.Sort();
        return new Rate(latencies.Count / clock.Elapsed.TotalSeconds, latencies[latencies.Count / 2], latencies[(int)(latencies.Count * 0.99)]);
    }

    private static async Task<double> DownloadMibPerSecondAsync(HttpClient http, Uri url, string? key, long size)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (key is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var clock = Stopwatch.StartNew();
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[1 << 20];
        long read = 0;
        int n;
        while ((n = await body.ReadAsync(buffer)) > 0)
            read += n;
        if (read != size)
            throw new InvalidDataException($"{url} gave {read} bytes, not {size}");
        return size / (1024.0 * 1024) / clock.Elapsed.TotalSeconds;
    }

    private static string Row(string name, Rate ours, Rate baseline) =>
        $"| {name} | {ours.PerSecond:N0}/s, p50 {ours.P50Ms:0.00} ms, p99 {ours.P99Ms:0.00} ms | {baseline.PerSecond:N0}/s, p50 {baseline.P50Ms:0.00} ms, p99 {baseline.P99Ms:0.00} ms | {ours.P50Ms / baseline.P50Ms:0.00}× (p50) |";
}
