using Microsoft.Extensions.Configuration;
using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Wrenn.Abstractions.Plugins;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Hosting;
using Wrenn.Silo.Sandboxes;
using Wrenn.Testing;
using Wrenn.Testing.Postgres;

/// <summary>
/// The platform's create → first exec through the grains (SandboxService, host
/// reservation, sandbox grain, records, audit) next to the raw host path of issue 2 (SandboxVms
/// alone), alternating in the same run; then creates per minute with 8 in flight.
/// </summary>
internal static class PlatformBench
{
    public static async Task RunAsync(int rounds, int burst)
    {
        var silo = await BenchSilo.StartAsync("bench");
        var (host, owner, dataDir) = (silo.Host, silo.Owner, silo.DataDir);
        var admin = (await host.Teams.AuthenticateAsync(host.FirstAdminKey!, CancellationToken.None))!;
        var raw = LocalPlugins.Create(new PluginHost(owner, dataDir, $"/run/wrenn/{owner}", "/run/wrenn", "/var/cache/wrenn"), NullLoggerFactory.Instance)
            .WithSnapshots(NullLoggerFactory.Instance);
        var image = GuestImage.FromDirectory(RepoPaths.ImageDir);
        try
        {
            var throughGrains = new List<double>();
            var rawPath = new List<double>();
            for (var i = 0; i < rounds; i++)
            {
                var clock = Stopwatch.StartNew();
                var sandbox = await host.Sandboxes.CreateAsync(admin, new NewSandbox("base"), CancellationToken.None);
                await host.Sandboxes.Sandbox(sandbox.Id).ExecAsync(admin, new ExecRequest("true"), CancellationToken.None);
                throughGrains.Add(clock.Elapsed.TotalMilliseconds);
                await host.Sandboxes.Sandbox(sandbox.Id).DestroyAsync(admin);

                clock.Restart();
                var vm = await raw.CreateAsync(Wrenn.Grains.Ids.SandboxId.New().ToString(), image, new VmSize(1, 256), CancellationToken.None);
                using (var agent = vm.Agent())
                    await agent.ExecAsync("true", null, CancellationToken.None);
                rawPath.Add(clock.Elapsed.TotalMilliseconds);
                await raw.DestroyAsync(vm, CancellationToken.None);
                Console.Error.WriteLine($"round {i + 1}/{rounds}: grains {throughGrains[^1]:0} ms, raw {rawPath[^1]:0} ms");
            }

            // Creates per minute: 8 in flight until `burst` sandboxes were created (each destroyed after its first exec).
            var started = 0;
            var burstClock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
            {
                while (Interlocked.Increment(ref started) <= burst)
                {
                    var sandbox = await host.Sandboxes.CreateAsync(admin, new NewSandbox("base"), CancellationToken.None);
                    await host.Sandboxes.Sandbox(sandbox.Id).ExecAsync(admin, new ExecRequest("true"), CancellationToken.None);
                    await host.Sandboxes.Sandbox(sandbox.Id).DestroyAsync(admin);
                }
            }));
            var perMinute = burst / burstClock.Elapsed.TotalMinutes;

            static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
            var table = new StringBuilder()
                .AppendLine("# Platform overhead: create → first exec through the grains")
                .AppendLine()
                .AppendLine($"`dotnet run -c Release --project bench/Wrenn.Bench.Vm -- platform {rounds} {burst}` on {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}, ")
                .AppendLine($"QEMU accelerator: {File.ReadAllText("/run/wrenn/qemu-accelerator").Trim()}. Same image and size (1 vCPU, 256 MiB), same host, alternating. The raw path boots; the platform restores the warm base (the image booted once at silo start and frozen).")
                .AppendLine()
                .AppendLine("| path | median | min | max |")
                .AppendLine("|---|---|---|---|")
                .AppendLine($"| raw host path (SandboxVms: disk, slot, QEMU, agent, exec) — baseline | {Median(rawPath):0} ms | {rawPath.Min():0} ms | {rawPath.Max():0} ms |")
                .AppendLine($"| through the grains: warm-base restore, template, reservation, sandbox grain, records, audit | {Median(throughGrains):0} ms | {throughGrains.Min():0} ms | {throughGrains.Max():0} ms |")
                .AppendLine()
                .AppendLine($"Overhead ratio (median grains / median raw): **{Median(throughGrains) / Median(rawPath):0.00}×**.")
                .AppendLine()
                .AppendLine($"Creates per minute with 8 in flight (create → exec → destroy, {burst} sandboxes): **{perMinute:0.0}**.");
            var path = Path.Combine(RepoPaths.Root, "bench", "results", "platform.md");
            await File.WriteAllTextAsync(path, table.ToString());
            Console.WriteLine(table);
        }
        finally
        {
            silo.AfterStop = () => raw.RemoveOrphansAsync(_ => false, CancellationToken.None);
            await silo.DisposeAsync();
        }
    }
}
