using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Wrenn.Silo.Cluster;
using Wrenn.Silo.Data;
using Wrenn.Silo.Grains;
using Wrenn.Silo.Persistence.LocalPostgres;
using Wrenn.Silo.Persistence.Migrations;

namespace Wrenn.Bench.Cluster;

/// <summary>
/// Calls per second and p50/p99 latency of a local grain call and a cross-silo grain call (two
/// silos of this process on real TCP, configured as Wrenn's are, on one PostgreSQL), next to a
/// raw HTTP/2 request on loopback and a plain in-process call, in one run.
/// </summary>
internal static class CallBench
{
    public static async Task<string> RunAsync(double seconds)
    {
        var folder = $"/run/wrenn/bench-cl-{Environment.ProcessId}";
        var postgres = await LocalPostgres.StartAsync(new LocalPostgresOptions { Folder = folder, SocketDir = folder, Durable = false }, NullLogger.Instance, CancellationToken.None);
        var rows = new List<string>();
        var database = WrennDatabase.Shared(postgres.ConnectionString);
        try
        {
            await new SchemaMigrator(database.Main, NullLogger<SchemaMigrator>.Instance).ApplyAsync([.. WrennSchema.Migrations, .. ClusterSchema.Migrations], CancellationToken.None);
            using var first = await SiloAsync(database, "bench-a");
            using var second = await SiloAsync(database, "bench-b");
            var local = first.Services.GetRequiredService<IGrainFactory>().GetGrain<IEchoGrain>("echo");
            await local.EchoAsync(0); // prefer-local: activates on the first silo
            var remote = second.Services.GetRequiredService<IGrainFactory>().GetGrain<IEchoGrain>("echo");
            IEcho plain = new EchoGrain();
            await using var http = await RawHttp2.StartAsync();

            rows.Add(await MeasureAsync("plain in-process interface call (baseline)", i => plain.EchoAsync(i), seconds));
            rows.Add(await MeasureAsync("raw HTTP/2 request on loopback (baseline)", http.SendAsync, seconds));
            rows.Add(await MeasureAsync("grain call, local activation", i => local.EchoAsync(i), seconds));
            rows.Add(await MeasureAsync("grain call, activation on the other silo", i => remote.EchoAsync(i), seconds));
        }
        finally
        {
            await database.DisposeAsync();
            await postgres.DisposeAsync();
            Directory.Delete(folder, recursive: true);
        }

        var table = new StringBuilder()
            .AppendLine("# Cluster: grain call cost on Orleans")
            .AppendLine()
            .AppendLine($"`dotnet run -c Release --project bench/Wrenn.Bench.Cluster calls {seconds}` on {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}. ")
            .AppendLine("Orleans 10.4.2, two silos in one process talking over TCP on loopback, configured as Wrenn's (ADO.NET")
            .AppendLine("clustering on PostgreSQL, distributed directory, Wrenn's call filters). Latency: one call at a time.")
            .AppendLine("Throughput: 64 calls in flight. The baselines run in the same process in the same run.")
            .AppendLine()
            .AppendLine("| case | p50 latency | p99 latency | calls/s, 1 in flight | calls/s, 64 in flight |")
            .AppendLine("|---|---|---|---|---|");
        foreach (var row in rows)
            table.AppendLine(row);
        table.AppendLine()
            .AppendLine("The previous grain runtime (Wrenn's own, replaced by Orleans) measured on 2026-11-27, in its own run with its own")
            .AppendLine("baselines: local ≈0.4 µs, cross-silo ≈102 µs next to ≈118 µs for the raw HTTP/2 request (runtime.md).");
        Console.WriteLine(table);
        return table.ToString();
    }

    private static async Task<IHost> SiloAsync(WrennDatabase database, string name)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddWrennClusterServices(database);
        builder.Services.AddSingleton(Options.Create(new CapacityOptions()));
        builder.Services.AddSingleton(new HostFacts("/tmp"));
        builder.UseOrleans(silo => silo.AddWrennCluster(new WrennClusterOptions { ClusterId = "bench", ServiceId = "bench" }, name, FreePort(), FreePort()));
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private static async Task<string> MeasureAsync(string name, Func<int, Task<int>> call, double seconds)
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

    private static string Micro(double us) => us < 1000 ? $"{us:0.0} µs" : $"{us / 1000:0.00} ms";

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

public interface IEcho
{
    Task<int> EchoAsync(int value);
}

[Alias("bench.echo")]
public interface IEchoGrain : IEcho, IGrainWithStringKey;

[Orleans.Placement.PreferLocalPlacement]
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
        return new RawHttp2(app, new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()));
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
        return (await response.Content.ReadAsStringAsync()).Length;
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
