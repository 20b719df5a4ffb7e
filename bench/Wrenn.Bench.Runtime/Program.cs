using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Wrenn.Grains.Runtime;
using Wrenn.Silo.Persistence.LocalPostgres;
using Wrenn.Silo.Runtime;
using Wrenn.Silo.Runtime.Grains;
using Wrenn.Silo.Runtime.Testing;

// Calls per second and p50/p99 latency: a plain in-process call, a local grain call, a cross-silo
// grain call, and a raw HTTP/2 request on loopback, in the same run.
// Usage: dotnet run -c Release --project bench/Wrenn.Bench.Runtime [seconds per case]; writes bench/results/runtime.md.
var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 5;
var root = FindRoot();
var folder = $"/run/wrenn/bench-rt-{Environment.ProcessId}";
var postgres = await LocalPostgres.StartAsync(new LocalPostgresOptions { Folder = folder, SocketDir = folder, Durable = false }, NullLogger.Instance, CancellationToken.None);
var rows = new List<string>();
try
{
    await using var cluster = await TestCluster.StartAsync(postgres.ConnectionString, 2, r => r.Add<IEchoGrain, EchoGrain>());
    var local = cluster[0].Grains.Get<IEchoGrain>("bench");
    await local.EchoAsync(0); // activates on silo 1
    var remote = cluster[1].Grains.Get<IEchoGrain>("bench");
    IEcho plain = new EchoGrain();

    await using var http = await RawHttp2.StartAsync();

    rows.Add(await MeasureAsync("plain in-process interface call (baseline)", i => plain.EchoAsync(i)));
    rows.Add(await MeasureAsync("raw HTTP/2 request on loopback (baseline)", http.SendAsync));
    rows.Add(await MeasureAsync("grain call, local activation", i => local.EchoAsync(i)));
    rows.Add(await MeasureAsync("grain call, activation on the other silo", i => remote.EchoAsync(i)));
}
finally
{
    await postgres.DisposeAsync();
    Directory.Delete(folder, recursive: true);
}

var table = new StringBuilder()
    .AppendLine("# Grain runtime: call cost")
    .AppendLine()
    .AppendLine($"`dotnet run -c Release --project bench/Wrenn.Bench.Runtime {seconds.ToString(CultureInfo.InvariantCulture)}` on {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}. ")
    .AppendLine("Latency: one call at a time. Throughput: 64 calls in flight. Two silos in one process on one PostgreSQL; the")
    .AppendLine("baselines run in the same process in the same run.")
    .AppendLine()
    .AppendLine("| case | p50 latency | p99 latency | calls/s, 1 in flight | calls/s, 64 in flight |")
    .AppendLine("|---|---|---|---|---|");
foreach (var row in rows)
    table.AppendLine(row);
Directory.CreateDirectory(Path.Combine(root, "bench", "results"));
await File.WriteAllTextAsync(Path.Combine(root, "bench", "results", "runtime.md"), table.ToString());
Console.WriteLine(table);
return;

async Task<string> MeasureAsync(string name, Func<int, Task<int>> call)
{
    for (var i = 0; i < 500; i++)
        await call(i);
    var latencies = new List<double>();
    var clock = Stopwatch.StartNew();
    var n = 0;
    while (clock.Elapsed.TotalSeconds < seconds)
    {
        var start = Stopwatch.GetTimestamp();
        await call(n++);
        latencies.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
    }
    var sequential = n / clock.Elapsed.TotalSeconds;
    latencies.Sort();

    var done = 0L;
    clock.Restart();
    await Task.WhenAll(Enumerable.Range(0, 64).Select(async w =>
    {
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            await call(w);
            Interlocked.Increment(ref done);
        }
    }));
    var parallel = done / clock.Elapsed.TotalSeconds;
    return $"| {name} | {Micro(latencies[latencies.Count / 2])} | {Micro(latencies[(int)(latencies.Count * 99L / 100)])} | {sequential:N0} | {parallel:N0} |";
}

static string Micro(double us) => us < 1000 ? $"{us:0.0} µs" : $"{us / 1000:0.00} ms";

static string FindRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "Wrenn.slnx")))
            return dir.FullName;
    }
    return Directory.GetCurrentDirectory();
}

public interface IEcho
{
    Task<int> EchoAsync(int value);
}

public interface IEchoGrain : IEcho, IGrainWithStringKey;

public sealed class EchoGrain : Grain, IEchoGrain
{
    public Task<int> EchoAsync(int value) => Task.FromResult(value);
}

/// <summary>The transport's floor: Kestrel answering a POST over cleartext HTTP/2 to HttpClient.</summary>
internal sealed class RawHttp2 : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _client = new(new SocketsHttpHandler { EnableMultipleHttp2Connections = true });
    private readonly Uri _address;

    private RawHttp2(WebApplication app, Uri address)
    {
        _app = app;
        _address = address;
    }

    public static async Task<RawHttp2> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        var app = builder.Build();
        app.MapPost("/echo", async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            await context.Response.WriteAsync(await reader.ReadToEndAsync());
        });
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return new RawHttp2(app, address);
    }

    public async Task<int> SendAsync(int value)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_address, "/echo"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new StringContent($"[{value}]"),
        };
        using var response = await _client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        return body.Length;
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
