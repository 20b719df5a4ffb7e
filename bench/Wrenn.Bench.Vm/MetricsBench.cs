using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Wrenn.Abstractions.Plugins;
using Wrenn.Grains.Sandboxes;
using Wrenn.GraphQL.Backend;
using Wrenn.Guest.Protocol;
using Wrenn.Silo.Hosting;
using Wrenn.Silo.Sandboxes;
using Wrenn.Silo.Webhooks;
using Wrenn.Testing;
using Wrenn.Testing.Postgres;

/// <summary>
/// What metrics and webhooks cost, in one run: (1) sandbox operations (create, exec, pause, resume,
/// destroy) on two silos side by side, one with metrics (5 s sampling, the exporter) and webhooks
/// (a receiver that answers and one that is down) on, one with both off, alternating per round;
/// (2) the guest agent's own CPU share while it is sampled once a second, next to the same agent idle.
/// </summary>
internal static class MetricsBench
{
    private static readonly string[] Operations = ["create", "exec `true`", "pause", "resume", "destroy"];

    public static async Task RunAsync(int rounds, int seconds)
    {
        await HostSweep.RemoveLeftoversAsync();
        using var receiver = new HttpListener();
        var receiverPort = FreePort();
        receiver.Prefixes.Add($"http://127.0.0.1:{receiverPort}/");
        receiver.Start();
        var received = 0;
        _ = Task.Run(async () =>
        {
            while (receiver.IsListening)
            {
                try
                {
                    var context = await receiver.GetContextAsync();
                    Interlocked.Increment(ref received);
                    context.Response.StatusCode = 204;
                    context.Response.Close();
                }
                catch (Exception) when (!receiver.IsListening)
                {
                    return;
                }
            }
        });

        BenchSilo? on = null, off = null;
        var rawOwner = TestPrefix.NewOwner();
        var rawDir = $"/run/wrenn/{rawOwner}";
        var raw = LocalPlugins.Create(new PluginHost(rawOwner, rawDir, rawDir, "/run/wrenn", "/var/cache/wrenn"), NullLoggerFactory.Instance).BootOnly(NullLoggerFactory.Instance);
        try
        {
            on = await StartSiloAsync(enabled: true);
            off = await StartSiloAsync(enabled: false);
            var webhooks = on.Host.Services.GetRequiredService<WebhookStore>();
            var all = Enum.GetValues<SandboxEventKind>();
            await webhooks.CreateAsync(on.Admin.TeamId, $"http://127.0.0.1:{receiverPort}/hook", all, "bench-secret-0123456789", CancellationToken.None);
            await webhooks.CreateAsync(on.Admin.TeamId, $"http://127.0.0.1:{FreePort()}/down", all, "bench-secret-0123456789", CancellationToken.None);

            // A sandbox that runs throughout on each silo, so the "on" silo's sampler has work while the operations run.
            var residents = new[]
            {
                await on.Host.Sandboxes.CreateAsync(on.Admin, new NewSandbox("base", TimeoutSeconds: 3600), CancellationToken.None),
                await off.Host.Sandboxes.CreateAsync(off.Admin, new NewSandbox("base", TimeoutSeconds: 3600), CancellationToken.None),
            };
            var timings = new Dictionary<(bool On, string Operation), List<double>>();
            foreach (var silo in new[] { on, off })
            {
                foreach (var operation in Operations)
                    timings[(silo == on, operation)] = [];
            }
            for (var i = 0; i < rounds; i++)
            {
                // Which silo goes first alternates, so neither always follows the other's pause (disk writes).
                foreach (var silo in i % 2 == 0 ? new[] { on, off } : [off, on])
                    await RoundAsync(silo, timings, silo == on);
                Console.Error.WriteLine($"round {i + 1}/{rounds}: create on {timings[(true, "create")][^1]:0} ms, off {timings[(false, "create")][^1]:0} ms");
            }
            var history = await on.Host.Sandboxes.Sandbox(residents[0].Id).GetMetricsHistoryAsync(on.Admin, 60);
            var deliveries = await webhooks.DeliveriesAsync(on.Admin.TeamId, null, null, 1000, CancellationToken.None);
            foreach (var (silo, resident) in new[] { on, off }.Zip(residents))
                await silo.Host.Sandboxes.Sandbox(resident.Id).DestroyAsync(silo.Admin);

            var (idleShares, sampledShares, sampleTimes) = await AgentShareAsync(raw, seconds);

            var table = new StringBuilder()
                .AppendLine("# What metrics and webhooks cost (bench/Wrenn.Bench.Vm metrics)")
                .AppendLine()
                .AppendLine($"`dotnet run -c Release --project bench/Wrenn.Bench.Vm -- metrics {rounds} {seconds}` on {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd HH:mm}Z, accelerator {File.ReadAllText("/run/wrenn/qemu-accelerator").Trim()}, base template (1 vCPU, 256 MiB, warm base).")
                .AppendLine()
                .AppendLine("## Sandbox operations with metrics and webhooks on, next to off")
                .AppendLine()
                .AppendLine("Two silos in one process, same host, same database server, alternating per round. \"On\": defaults (sampling every 5 s")
                .AppendLine("into the grain's history, host usage, the Prometheus exporter) and two webhooks for every event, one to a receiver")
                .AppendLine("on loopback that answers 204, one to a closed port (every delivery retried with backoff during the run). \"Off\":")
                .AppendLine("`Wrenn:Metrics:Enabled=false`, `Wrenn:Webhooks:Enabled=false`. Each silo keeps one more sandbox running throughout.")
                .AppendLine()
                .AppendLine("| operation | off (baseline) median | on median | on / off | off p90 | on p90 |")
                .AppendLine("|---|---|---|---|---|---|");
            foreach (var operation in Operations)
            {
                var (baseline, with) = (timings[(false, operation)], timings[(true, operation)]);
                table.AppendLine($"| {operation} ({baseline.Count} each) | {Median(baseline):0.0} ms | {Median(with):0.0} ms | {Median(with) / Median(baseline):0.00}× | {Percentile(baseline, 0.9):0.0} ms | {Percentile(with, 0.9):0.0} ms |");
            }
            table
                .AppendLine()
                .AppendLine($"During the run the \"on\" silo kept {history.Count} samples of its long-running sandbox, the answering receiver got {received} POSTs, and")
                .AppendLine($"{deliveries.Count(d => d.Status == WebhookDeliveryStatus.Pending)} deliveries to the closed port were still pending retries ({deliveries.Count(d => d.Status == WebhookDeliveryStatus.Delivered)} delivered in all).")
                .AppendLine()
                .AppendLine("## The agent's CPU share while sampled once a second")
                .AppendLine()
                .AppendLine($"One VM (raw host path, no silo), the agent's own utime + stime from the guest's /proc/<pid>/stat over {seconds} s windows,")
                .AppendLine("idle and sampled (MetricsService.Sample every second) alternating, twice each; share of one vCPU.")
                .AppendLine()
                .AppendLine("| window | agent CPU share (each window) | mean |")
                .AppendLine("|---|---|---|")
                .AppendLine($"| idle (baseline) | {string.Join(", ", idleShares.Select(s => $"{s:0.00} %"))} | {idleShares.Average():0.00} % |")
                .AppendLine($"| sampled once a second | {string.Join(", ", sampledShares.Select(s => $"{s:0.00} %"))} | {sampledShares.Average():0.00} % |")
                .AppendLine()
                .AppendLine($"A sample's round trip from the host: median {Median(sampleTimes):0.0} ms, p90 {Percentile(sampleTimes, 0.9):0.0} ms ({sampleTimes.Count} samples).")
                .AppendLine("The guest's clock ticks at 100 Hz (USER_HZ), so a window's share is counted in steps of 1 / (100 × seconds).");
            var output = Path.Combine(RepoPaths.Root, "bench", "results", "metrics.md");
            await File.WriteAllTextAsync(output, table.ToString());
            Console.WriteLine(table);
        }
        finally
        {
            receiver.Stop();
            foreach (var silo in new[] { on, off })
            {
                if (silo is not null)
                    await silo.DisposeAsync();
            }
            await raw.RemoveOrphansAsync(_ => false, CancellationToken.None);
            if (Directory.Exists(rawDir))
                Directory.Delete(rawDir, recursive: true);
            TestPrefix.Retire(rawOwner);
        }
    }

    private static async Task RoundAsync(BenchSilo silo, Dictionary<(bool, string), List<double>> timings, bool on)
    {
        var clock = Stopwatch.StartNew();
        var sandbox = await silo.Host.Sandboxes.CreateAsync(silo.Admin, new NewSandbox("base"), CancellationToken.None);
        timings[(on, "create")].Add(clock.Elapsed.TotalMilliseconds);
        var grain = silo.Host.Sandboxes.Sandbox(sandbox.Id);
        // Let the sampler take its first sample of it (every 5 s): the pause then meets a sandbox as a user's would.
        await Task.Delay(TimeSpan.FromSeconds(6));
        clock.Restart();
        await grain.ExecAsync(silo.Admin, new ExecRequest("true"), CancellationToken.None);
        timings[(on, "exec `true`")].Add(clock.Elapsed.TotalMilliseconds);
        clock.Restart();
        await grain.PauseAsync(silo.Admin);
        timings[(on, "pause")].Add(clock.Elapsed.TotalMilliseconds);
        clock.Restart();
        await grain.ResumeAsync(silo.Admin);
        timings[(on, "resume")].Add(clock.Elapsed.TotalMilliseconds);
        clock.Restart();
        await grain.DestroyAsync(silo.Admin);
        timings[(on, "destroy")].Add(clock.Elapsed.TotalMilliseconds);
    }

    /// <summary>The agent's CPU share in windows of <paramref name="seconds"/>: idle, sampled, idle, sampled.</summary>
    private static async Task<(List<double> Idle, List<double> Sampled, List<double> SampleTimes)> AgentShareAsync(SandboxVms raw, int seconds)
    {
        var image = GuestImage.FromDirectory(RepoPaths.ImageDir);
        var vm = await raw.CreateAsync(Wrenn.Grains.Ids.SandboxId.New().ToString(), image, new VmSize(1, 256), CancellationToken.None);
        try
        {
            using var agent = vm.Agent();
            var (idle, sampled, times) = (new List<double>(), new List<double>(), new List<double>());
            for (var window = 0; window < 4; window++)
            {
                var before = await AgentTicksAsync(agent);
                var clock = Stopwatch.StartNew();
                while (clock.Elapsed < TimeSpan.FromSeconds(seconds))
                {
                    if (window % 2 == 1)
                    {
                        var call = Stopwatch.StartNew();
                        await agent.SampleAsync(CancellationToken.None);
                        times.Add(call.Elapsed.TotalMilliseconds);
                    }
                    await Task.Delay(TimeSpan.FromSeconds(1) - TimeSpan.FromTicks(clock.Elapsed.Ticks % TimeSpan.TicksPerSecond));
                }
                var share = (await AgentTicksAsync(agent) - before) / (100.0 * clock.Elapsed.TotalSeconds) * 100;
                (window % 2 == 0 ? idle : sampled).Add(share);
                Console.Error.WriteLine($"agent window {window + 1}/4 ({(window % 2 == 0 ? "idle" : "sampled")}): {share:0.00} %");
            }
            return (idle, sampled, times);
        }
        finally
        {
            await raw.DestroyAsync(vm, CancellationToken.None);
        }
    }

    /// <summary>The agent's utime + stime in ticks (fields 14 and 15 of its /proc/pid/stat; the name field has no spaces).</summary>
    private static async Task<long> AgentTicksAsync(AgentClient agent)
    {
        var result = await agent.ExecAsync("sh", ["-c", "cat /proc/$(pidof wrenn-agent)/stat"], CancellationToken.None);
        var stat = Encoding.UTF8.GetString(result.Stdout).Split(' ');
        if (result.ExitCode != 0 || stat.Length < 15)
            throw new InvalidOperationException($"could not read the agent's /proc stat: exit {result.ExitCode}, {Encoding.UTF8.GetString(result.Stderr)}");
        return long.Parse(stat[13], CultureInfo.InvariantCulture) + long.Parse(stat[14], CultureInfo.InvariantCulture);
    }

    private static async Task<BenchSilo> StartSiloAsync(bool enabled)
    {
        var owner = TestPrefix.NewOwner();
        var host = await WrennSiloHost.StartAsync(new WrennSiloOptions
        {
            DataDir = $"/run/wrenn/{owner}-data",
            ConnectionString = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync(enabled ? "bench-metrics-on" : "bench-metrics-off"),
            ImageDir = RepoPaths.ImageDir,
            OwnerPrefix = owner,
            SiloName = $"{owner}-silo",
            OnExit = OnExit.Destroy,
            // Warnings and errors to stderr, so a failed operation in the run can be read up.
            Logging = logging => logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning)
                .AddFilter("Orleans", LogLevel.Error).AddFilter("Microsoft", LogLevel.Error),
            Configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Wrenn:Api:Port"] = "0",
                ["Wrenn:Metrics:Enabled"] = enabled ? "true" : "false",
                ["Wrenn:Webhooks:Enabled"] = enabled ? "true" : "false",
            }).Build(),
        }, CancellationToken.None);
        return new BenchSilo(owner, host, (await host.Teams.AuthenticateAsync(host.FirstAdminKey!, CancellationToken.None))!);
    }

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    private static double Median(List<double> values) => Percentile(values, 0.5);

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[(int)Math.Clamp(Math.Round(p * (sorted.Count - 1)), 0, sorted.Count - 1)];
    }

    private sealed record BenchSilo(string Owner, WrennSiloHost Host, Caller Admin) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Host.DisposeAsync();
            if (Directory.Exists($"/run/wrenn/{Owner}-data"))
                Directory.Delete($"/run/wrenn/{Owner}-data", recursive: true);
            TestPrefix.Retire(Owner);
        }
    }
}
