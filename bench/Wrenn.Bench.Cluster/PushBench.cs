using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Cluster;
using Wrenn.Silo.Cluster.Events;
using Wrenn.Silo.Data;
using Wrenn.Silo.Persistence.LocalPostgres;
using Wrenn.Silo.Persistence.Migrations;

namespace Wrenn.Bench.Cluster;

/// <summary>
/// How long a sandbox change takes to reach a <c>sandboxEvents</c> listener: published on one silo,
/// read by a listener on the same silo and by one on the other silo (two silos of this process on
/// real TCP, configured as Wrenn's), next to a cross-silo grain call in the same run. The issue's
/// goal: a change reaches subscribers on any silo within 100 ms.
/// </summary>
internal static class PushBench
{
    public static async Task<string> RunAsync(int changes)
    {
        var folder = $"/run/wrenn/bench-push-{Environment.ProcessId}";
        var postgres = await LocalPostgres.StartAsync(new LocalPostgresOptions { Folder = folder, SocketDir = folder, Durable = false }, NullLogger.Instance, CancellationToken.None);
        var rows = new List<string>();
        var database = WrennDatabase.Shared(postgres.ConnectionString);
        try
        {
            await new SchemaMigrator(database.Main, NullLogger<SchemaMigrator>.Instance).ApplyAsync([.. WrennSchema.Migrations, .. ClusterSchema.Migrations], CancellationToken.None);
            using var first = await CallBench.SiloAsync(database, "bench-a");
            using var second = await CallBench.SiloAsync(database, "bench-b");
            var publisher = first.Services.GetRequiredService<ISandboxChangeFeed>();
            using var here = publisher.Subscribe(Caller.System.TeamId, null, CancellationToken.None);
            using var there = second.Services.GetRequiredService<ISandboxChangeFeed>().Subscribe(Caller.System.TeamId, null, CancellationToken.None);
            await UntilBothSilosAreLiveAsync(publisher, here, there);

            var remote = second.Services.GetRequiredService<IGrainFactory>().GetGrain<IEchoGrain>("echo");
            await first.Services.GetRequiredService<IGrainFactory>().GetGrain<IEchoGrain>("echo").EchoAsync(0);
            rows.Add(await MeasureAsync("grain call to the other silo (baseline)", changes, async i => await remote.EchoAsync(i)));
            rows.Add(await MeasureAsync("change to a listener on the publishing silo", changes, async i =>
            {
                publisher.Publish(Change(i));
                await ReadAsync(here, i);
            }));
            rows.Add(await MeasureAsync("change to a listener on the other silo", changes, async i =>
            {
                publisher.Publish(Change(i));
                await ReadAsync(here, i);
                await ReadAsync(there, i);
            }));
        }
        finally
        {
            await database.DisposeAsync();
            await postgres.DisposeAsync();
            Directory.Delete(folder, recursive: true);
        }

        var table = new StringBuilder()
            .AppendLine("# Cluster: how long a sandbox change takes to reach its listeners")
            .AppendLine()
            .AppendLine($"`dotnet run -c Release --project bench/Wrenn.Bench.Cluster push {changes}` on {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}. ")
            .AppendLine("Two silos in one process over TCP on loopback (Orleans 10.4.2, configured as Wrenn's). A change is published")
            .AppendLine("on the first silo as the sandbox store does after a write, and read from a listener's channel as `sandboxEvents`")
            .AppendLine("reads it; one change at a time. The grain call is the same run's baseline. Goal: ≤ 100 ms on any silo.")
            .AppendLine()
            .AppendLine("| case | p50 | p99 | max |")
            .AppendLine("|---|---|---|---|");
        foreach (var row in rows)
            table.AppendLine(row);
        Console.WriteLine(table);
        return table.ToString();
    }

    private static SandboxChange Change(int i) => new(
        new SandboxInfo($"sb-bench-{i}", "team-bench", "tpl-bench", "bench-a", SandboxState.Running, 1, 256, DateTimeOffset.UtcNow, null,
            new Dictionary<string, string> { ["i"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) }),
        SandboxState.Creating);

    private static async Task ReadAsync(SandboxChangeSubscription subscription, int i)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while ((await subscription.Changes.ReadAsync(limit.Token)).Sandbox.Id != $"sb-bench-{i}")
        {
            // An earlier change (from the wait for membership) still queued: skip it.
        }
    }

    /// <summary>Publishing reaches only silos the membership lists as active: wait until the second one does.</summary>
    private static async Task UntilBothSilosAreLiveAsync(ISandboxChangeFeed publisher, SandboxChangeSubscription here, SandboxChangeSubscription there)
    {
        var deadline = Stopwatch.StartNew();
        for (var i = -1; ; i--)
        {
            publisher.Publish(Change(i));
            await ReadAsync(here, i);
            using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
            try
            {
                if ((await there.Changes.ReadAsync(wait.Token)).Sandbox.Id == $"sb-bench-{i}")
                    return;
            }
            catch (OperationCanceledException) when (deadline.Elapsed < TimeSpan.FromMinutes(1))
            {
            }
        }
    }

    private static async Task<string> MeasureAsync(string name, int count, Func<int, Task> once)
    {
        for (var i = 0; i < 100; i++)
            await once(i);
        var latencies = new List<double>(count);
        for (var i = 100; i < 100 + count; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await once(i);
            latencies.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
        }
        latencies.Sort();
        return $"| {name} | {Micro(latencies[count / 2])} | {Micro(latencies[(int)(count * 99L / 100)])} | {Micro(latencies[^1])} |";
    }

    private static string Micro(double us) => us < 1000 ? $"{us:0.0} µs" : $"{us / 1000:0.00} ms";
}
