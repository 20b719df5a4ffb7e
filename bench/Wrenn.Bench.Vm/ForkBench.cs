using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Sandboxes;
using Wrenn.Testing;

/// <summary>
/// forkSandbox of a running sandbox into 1, 4 and 8 children: the source's stop (from the silo's log
/// line) and fork → first exec in a child and in all of them, next to createTemplateFromSandbox + as
/// many creates from it (the way to the same children before forks), alternating in the same run.
/// </summary>
internal static partial class ForkBench
{
    public static async Task RunAsync(int[] counts)
    {
        var stops = new StopLog();
        await using var silo = await BenchSilo.StartAsync("bench-fork", stops);
        var host = silo.Host;
        var admin = (await host.Teams.AuthenticateAsync(host.FirstAdminKey!, CancellationToken.None))!;
        var rows = new List<string>();
        var source = await host.Sandboxes.CreateAsync(admin, new NewSandbox("base", TimeoutSeconds: 3600), CancellationToken.None);
        var grain = host.Sandboxes.Sandbox(source.Id);
        await grain.ExecAsync(admin, new ExecRequest("sh", ["-c", "head -c 32M /dev/urandom > /root/data"]), CancellationToken.None);
        foreach (var count in counts)
        {
            // Fork.
            var clock = Stopwatch.StartNew();
            IReadOnlyList<SandboxInfo> children;
            try
            {
                children = await grain.ForkAsync(admin, count);
            }
            catch (Exception e)
            {
                rows.Add($"| {count} | fork did not fit: {e.Message.Split('\n')[0]} | | | | |");
                continue;
            }
            var forked = clock.Elapsed.TotalMilliseconds;
            var firstExec = await Task.WhenAll(children.Select(async c =>
            {
                await host.Sandboxes.Sandbox(c.Id).ExecAsync(admin, new ExecRequest("true"), CancellationToken.None);
                return clock.Elapsed.TotalMilliseconds;
            }));
            var stop = stops.Last;
            foreach (var c in children)
                await host.Sandboxes.Sandbox(c.Id).DestroyAsync(admin);

            // Baseline: a template (the source paused to disk and restored in a new VM), then as many creates from it.
            clock.Restart();
            var template = await grain.CreateTemplateAsync(admin, $"bench-{count}");
            var templated = clock.Elapsed.TotalMilliseconds;
            var baseline = await Task.WhenAll(Enumerable.Range(0, count).Select(async _ =>
            {
                var created = await host.Sandboxes.CreateAsync(admin, new NewSandbox(template.Name, TimeoutSeconds: 600), CancellationToken.None);
                await host.Sandboxes.Sandbox(created.Id).ExecAsync(admin, new ExecRequest("true"), CancellationToken.None);
                return (created.Id, At: clock.Elapsed.TotalMilliseconds);
            }));
            foreach (var (id, _) in baseline)
                await host.Sandboxes.Sandbox(id).DestroyAsync(admin);
            await host.Grains.GetGrain<ITemplateGrain>(template.Id).DeleteAsync(admin);
            rows.Add($"| {count} | {stop} ms | {forked:0} ms | {firstExec.Min():0} ms | {firstExec.Max():0} ms | {templated:0} ms | {baseline.Min(b => b.At):0} ms | {baseline.Max(b => b.At):0} ms |");
            Console.Error.WriteLine(rows[^1]);
        }
        await grain.DestroyAsync(admin);

        var table = new StringBuilder()
            .AppendLine("# Fork of a running sandbox")
            .AppendLine()
            .AppendLine($"`dotnet run -c Release --project bench/Wrenn.Bench.Vm -- fork {string.Join(',', counts)}` on {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}, ")
            .AppendLine($"QEMU accelerator: {File.ReadAllText("/run/wrenn/qemu-accelerator").Trim()}, jailed, 1 vCPU and 256 MiB (the base's size: the source restored from the warm base, so its RAM is a private mapping and the fork's live migration copies it while the guest runs), 32 MiB of random data written in the guest first. One source, forked at each count; the baseline in the same run, right after: createTemplateFromSandbox on the same source, then as many creates from the template in parallel.")
            .AppendLine()
            .AppendLine("| children | source stopped | forkSandbox returned (children RUNNING) | fork → first exec, first child | fork → first exec, last child | baseline: createTemplateFromSandbox | baseline: template → first exec, first child | baseline: last child |")
            .AppendLine("|---|---|---|---|---|---|---|---|")
            .AppendJoin('\n', rows).AppendLine()
            .AppendLine()
            .AppendLine("The source's stop is the silo's own measure (the `forked: its vCPUs were stopped for …` log line): QEMU's migration downtime plus the disk switch until `cont`. A template stops the source for the whole pause to disk and the restore into a new VM, and drops its connections.");
        var path = Path.Combine(RepoPaths.Root, "bench", "results", "fork.md");
        await File.WriteAllTextAsync(path, table.ToString());
        Console.WriteLine(table);
    }

    /// <summary>The stop times the silo logs for forks.</summary>
    internal sealed partial class StopLog : Microsoft.Extensions.Logging.ILoggerProvider, Microsoft.Extensions.Logging.ILogger
    {
        public string Last { get; private set; } = "?";

        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => this;

        public void Dispose() { }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => logLevel >= Microsoft.Extensions.Logging.LogLevel.Information;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (Stopped().Match(formatter(state, exception)) is { Success: true } m)
                Last = m.Groups[1].Value;
        }

        [GeneratedRegex("vCPUs were stopped for ([0-9]+) ms")]
        private static partial Regex Stopped();
    }
}
