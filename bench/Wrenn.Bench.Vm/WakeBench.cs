using System.Diagnostics;
using System.Text;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Sandboxes;

/// <summary>
/// Wake on use: the first exec on a sandbox its autoPause paused (the exec wakes it), next to an
/// explicit resumeSandbox then the same exec on the same sandbox after a user's pause, alternating per
/// round in one run; and how long after its last use the idle pause came (idleSeconds 5, checked every 2 s).
/// Grain calls on an in-process silo (the API adds the same few milliseconds to both).
/// </summary>
internal static class WakeBench
{
    private const int IdleSeconds = 5;

    public static async Task RunAsync(int rounds)
    {
        await using var silo = await BenchSilo.StartAsync("bench-wake");
        var admin = (await silo.Host.Teams.AuthenticateAsync(silo.Host.FirstAdminKey!, CancellationToken.None))!;
        var info = await silo.Host.Sandboxes.CreateAsync(admin,
            new NewSandbox("base", TimeoutSeconds: 3600, Lifecycle: new SandboxLifecycle(IdleSeconds: IdleSeconds, AutoResume: true)), CancellationToken.None);
        var sandbox = silo.Host.Sandboxes.Sandbox(info.Id);
        var exec = new ExecRequest("true");
        var (woken, resumed, idleAfter, samples) = (new List<double>(), new List<double>(), new List<double>(), new List<double>());
        try
        {
            // What one idle check asks of the guest: the agent's Sample (read the way the grain reads it, on its own connection).
            var vm = (await silo.Host.Store.GetAsync(info.Id, CancellationToken.None))!.Vm!;
            using (var agent = vm.Agent())
            {
                await agent.SampleAsync(CancellationToken.None);
                for (var i = 0; i < 100; i++)
                {
                    var sampled = Stopwatch.StartNew();
                    await agent.SampleAsync(CancellationToken.None);
                    samples.Add(sampled.Elapsed.TotalMilliseconds);
                }
            }

            for (var i = 0; i < rounds; i++)
            {
                // Idle-paused, then the first exec wakes it.
                await sandbox.ExecAsync(admin, exec, CancellationToken.None);
                var lastUse = Stopwatch.StartNew();
                while ((await sandbox.GetAsync(admin)).State != SandboxState.Paused)
                    await Task.Delay(50);
                idleAfter.Add(lastUse.Elapsed.TotalMilliseconds);
                var clock = Stopwatch.StartNew();
                await sandbox.ExecAsync(admin, exec, CancellationToken.None);
                woken.Add(clock.Elapsed.TotalMilliseconds);

                // The baseline: a user's pause, then resumeSandbox and the same exec.
                await sandbox.PauseAsync(admin);
                clock.Restart();
                await sandbox.ResumeAsync(admin);
                await sandbox.ExecAsync(admin, exec, CancellationToken.None);
                resumed.Add(clock.Elapsed.TotalMilliseconds);
                Console.Error.WriteLine($"round {i + 1}/{rounds}: wake + exec {woken[^1]:0} ms, resume + exec {resumed[^1]:0} ms, idle pause {idleAfter[^1] / 1000:0.0} s after the last use");
            }
        }
        finally
        {
            await sandbox.DestroyAsync(admin);
        }

        var table = new StringBuilder()
            .AppendLine("# Wake on use (bench/Wrenn.Bench.Vm wake)")
            .AppendLine()
            .AppendLine($"`dotnet run -c Release --project bench/Wrenn.Bench.Vm -- wake {rounds}` on {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd HH:mm}Z, accelerator {File.ReadAllText("/run/wrenn/qemu-accelerator").Trim()}, base template (1 vCPU, 256 MiB, warm base), jailed.")
            .AppendLine($"One sandbox with `autoPause: {{idleSeconds: {IdleSeconds}}}, autoResume: true`; each round, in one run on the same sandbox: wait for its idle pause,")
            .AppendLine("time the first `exec true` (which wakes it); then pause it (pauseSandbox) and time resumeSandbox followed by the same exec. Grain calls on an in-process silo.")
            .AppendLine()
            .AppendLine("| path | rounds | median | p90 | min | max |")
            .AppendLine("|---|---|---|---|---|---|")
            .AppendLine(Row("first exec on an idle-paused sandbox (the wake)", woken))
            .AppendLine(Row("resumeSandbox, then exec (baseline)", resumed))
            .AppendLine()
            .AppendLine($"The idle pause came {Median(idleAfter) / 1000:0.0} s (median; {idleAfter.Min() / 1000:0.0}–{idleAfter.Max() / 1000:0.0} s) after the exec that last used it, for idleSeconds {IdleSeconds}")
            .AppendLine("checked every 2 s (`Wrenn:Sandboxes:IdleCheckEvery`), the pause itself included.")
            .AppendLine()
            .AppendLine($"Load average at the end of the run: {File.ReadAllText("/proc/loadavg").Split(' ')[1]} (5 min; other VM tests shared the machine: compare the rows, not the absolute times).")
            .AppendLine()
            .AppendLine($"One idle check's guest CPU reading (the agent's `MetricsService.Sample`, {samples.Count} calls on a running sandbox): median {Median(samples):0.0} ms, p90 {Percentile(samples, 0.9):0.0} ms, round trip included.");
        var path = Path.Combine(Wrenn.Testing.RepoPaths.Root, "bench", "results", "wake.md");
        await File.WriteAllTextAsync(path, table.ToString());
        Console.WriteLine(table);
        Console.Error.WriteLine($"written to {path}");

        static string Row(string what, List<double> values) =>
            $"| {what} | {values.Count} | {Median(values):0} ms | {Percentile(values, 0.9):0} ms | {values.Min():0} ms | {values.Max():0} ms |";
    }

    private static double Median(List<double> values) => Percentile(values, 0.5);

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.OrderBy(v => v).ToList();
        return sorted[(int)Math.Clamp(Math.Round(p * (sorted.Count - 1)), 0, sorted.Count - 1)];
    }
}
