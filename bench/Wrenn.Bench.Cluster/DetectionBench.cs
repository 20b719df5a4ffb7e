using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Wrenn.Silo.Persistence.LocalPostgres;

namespace Wrenn.Bench.Cluster;

/// <summary>
/// How long a silo killed with SIGKILL takes to be declared dead by the others: two `wrenn run`
/// processes with the default settings on one PostgreSQL; the victim is killed and started again
/// each round; the time runs from the kill to its row's status Dead (6) in the membership table.
/// Goal: ≤ 30 s.
/// </summary>
internal static partial class DetectionBench
{
    public static async Task<string> RunAsync(int rounds)
    {
        var folder = $"/run/wrenn/bench-dt-{Environment.ProcessId}";
        var postgres = await LocalPostgres.StartAsync(new LocalPostgresOptions { Folder = folder, SocketDir = folder, Durable = false }, NullLogger.Instance, CancellationToken.None);
        var times = new List<double>();
        Process? survivor = null, victim = null;
        try
        {
            survivor = await StartAsync(postgres.ConnectionString, "wbdts");
            for (var round = 0; round < rounds; round++)
            {
                victim = await StartAsync(postgres.ConnectionString, "wbdtv");
                await Task.Delay(TimeSpan.FromSeconds(3)); // both see each other
                var killed = Stopwatch.StartNew();
                victim.Kill();
                await victim.WaitForExitAsync();
                await using var data = NpgsqlDataSource.Create(postgres.ConnectionString);
                while (!await DeadAsync(data, "wbdtv-silo"))
                {
                    if (killed.Elapsed > TimeSpan.FromMinutes(3))
                        throw new TimeoutException("the killed silo was not declared dead within 3 minutes");
                    await Task.Delay(100);
                }
                times.Add(killed.Elapsed.TotalSeconds);
                Console.WriteLine($"round {round}: declared dead after {killed.Elapsed.TotalSeconds:0.0} s");
                victim.Dispose();
                victim = null;
            }
        }
        finally
        {
            foreach (var p in new[] { victim, survivor })
            {
                if (p is { HasExited: false })
                {
                    p.Kill();
                    await p.WaitForExitAsync();
                }
            }
            await postgres.DisposeAsync();
            foreach (var dir in new[] { folder, "/run/wrenn/wbdts-data", "/run/wrenn/wbdtv-data", "/run/wrenn/wbdts", "/run/wrenn/wbdtv" })
            {
                if (Directory.Exists(dir))
                    Directory.Delete(dir, recursive: true);
            }
        }

        times.Sort();
        var table = new StringBuilder()
            .AppendLine("# Cluster: failure detection")
            .AppendLine()
            .AppendLine($"`dotnet run -c Release --project bench/Wrenn.Bench.Cluster detection {rounds}` on {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}. ")
            .AppendLine("Two `wrenn run` processes with the default settings (Wrenn:Cluster:ProbeTimeout 3 s, MissedProbesLimit 3) on one")
            .AppendLine("PostgreSQL; the victim is killed with SIGKILL, then started again for the next round. Time from the kill to its")
            .AppendLine("membership row's status Dead. Goal: ≤ 30 s.")
            .AppendLine()
            .AppendLine("| rounds | min | median | max |")
            .AppendLine("|---|---|---|---|")
            .AppendLine($"| {times.Count} | {times[0]:0.0} s | {times[times.Count / 2]:0.0} s | {times[^1]:0.0} s |");
        Console.WriteLine(table);
        return table.ToString();
    }

    private static async Task<bool> DeadAsync(NpgsqlDataSource data, string silo)
    {
        await using var command = data.CreateCommand("SELECT status FROM orleans_membership WHERE silo_name = $1 ORDER BY started_at DESC LIMIT 1");
        command.Parameters.Add(new() { Value = silo });
        return await command.ExecuteScalarAsync() is 6;
    }

    private static async Task<Process> StartAsync(string connectionString, string owner)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "wrenn.dll"), "run", "--data-dir", $"/run/wrenn/{owner}-data", "--postgres", connectionString,
                     "--owner-prefix", owner, "--name", $"{owner}-silo", "--port", "0", "--warm-base", "false" })
            start.ArgumentList.Add(arg);
        var process = Process.Start(start)!;
        var ready = new TaskCompletionSource();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && ReadyLine().IsMatch(line))
                ready.TrySetResult();
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (await Task.WhenAny(ready.Task, Task.Delay(TimeSpan.FromMinutes(3))) != ready.Task)
            throw new TimeoutException($"wrenn run ({owner}) did not become ready");
        return process;
    }

    [GeneratedRegex(@"is ready\. GraphQL: ")]
    private static partial Regex ReadyLine();
}
