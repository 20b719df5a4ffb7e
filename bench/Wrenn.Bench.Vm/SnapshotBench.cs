using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Wrenn.Abstractions.Plugins;
using Wrenn.Silo.Sandboxes;
using Wrenn.Testing;

/// <summary>
/// Pause and resume-to-first-exec for 256 MiB and 1 GiB guests, idle and after dirtying part of
/// their memory, create-from-template-to-first-exec, each next to a cold boot of the same image in
/// the same run; disk used by sandboxes from one template next to full copies.
/// </summary>
internal static class SnapshotBench
{
    public static async Task RunAsync()
    {
        await HostSweep.RemoveLeftoversAsync();
        var owner = TestPrefix.NewOwner();
        var dataDir = Path.Combine("/var/tmp", $"{owner}-bench"); // on disk, as a silo's data dir would be
        var runtimeDir = Path.Combine("/run/wrenn", owner);
        var host = new PluginHost(owner, dataDir, runtimeDir, "/run/wrenn", "/var/cache/wrenn");
        var plugins = LocalPlugins.Create(host, NullLoggerFactory.Instance);
        var vms = plugins.WithSnapshots(NullLoggerFactory.Instance);
        var image = GuestImage.FromDirectory(RepoPaths.ImageDir);
        var rows = new StringBuilder();
        try
        {
            foreach (var memoryMib in new[] { 256, 1024 })
            {
                foreach (var dirtyPercent in new[] { 0, 10, 50 })
                {
                    var clock = Stopwatch.StartNew();
                    var sandbox = await vms.CreateAsync(Wrenn.Grains.Ids.SandboxId.New().ToString(), image, new VmSize(1, memoryMib), CancellationToken.None);
                    using (var agent = sandbox.Agent())
                        await agent.ExecAsync("true", null, CancellationToken.None);
                    var coldBoot = clock.Elapsed.TotalMilliseconds;
                    if (dirtyPercent > 0)
                    {
                        var bytes = (long)memoryMib * 1024 * 1024 * dirtyPercent / 100;
                        using var agent = sandbox.Agent();
                        await agent.ExecAsync("sh", ["-c", $"setsid python3 -c \"import time\nb=bytearray({bytes})\nfor i in range(0,{bytes},4096): b[i]=1\nopen('/tmp/dirty','w').write('1')\nwhile True: time.sleep(60)\" >/dev/null 2>&1 &"], CancellationToken.None);
                        while ((await agent.ExecAsync("test", ["-e", "/tmp/dirty"], CancellationToken.None)).ExitCode != 0)
                            await Task.Delay(200);
                    }
                    clock.Restart();
                    var paused = await vms.PauseAsync(sandbox, CancellationToken.None);
                    var pause = clock.Elapsed.TotalMilliseconds;
                    clock.Restart();
                    sandbox = await vms.ResumeAsync(paused, image, CancellationToken.None);
                    using (var agent = sandbox.Agent())
                        await agent.ExecAsync("true", null, CancellationToken.None);
                    var resume = clock.Elapsed.TotalMilliseconds;
                    await vms.DestroyAsync(sandbox, CancellationToken.None);
                    rows.AppendLine(CultureInfo.InvariantCulture,
                        $"| {memoryMib} MiB, {dirtyPercent} % dirtied | {pause:0} ms | {resume:0} ms | {coldBoot:0} ms | {resume / coldBoot:0.00}× |");
                    Console.Error.WriteLine($"{memoryMib} MiB {dirtyPercent}%: pause {pause:0} ms, resume {resume:0} ms, cold {coldBoot:0} ms");
                }
            }

            // Templates: children to first exec, and the disk they use.
            var source = await vms.CreateAsync(Wrenn.Grains.Ids.SandboxId.New().ToString(), image, new VmSize(1, 256), CancellationToken.None);
            var coldClock = Stopwatch.StartNew();
            var cold = await vms.CreateAsync(Wrenn.Grains.Ids.SandboxId.New().ToString(), image, new VmSize(1, 256), CancellationToken.None);
            using (var agent = cold.Agent())
                await agent.ExecAsync("true", null, CancellationToken.None);
            var coldMs = coldClock.Elapsed.TotalMilliseconds;
            await vms.DestroyAsync(cold, CancellationToken.None);
            var (template, running) = await vms.CreateTemplateAsync(source, Path.Combine(dataDir, "templates", "bench"), image, CancellationToken.None);
            var children = new List<SandboxVm>();
            var childTimes = new List<double>();
            for (var i = 0; i < 5; i++)
            {
                var clock = Stopwatch.StartNew();
                var child = await vms.CreateFromTemplateAsync(Wrenn.Grains.Ids.SandboxId.New().ToString(), template, image, CancellationToken.None);
                using (var agent = child.Agent())
                    await agent.ExecAsync("true", null, CancellationToken.None);
                childTimes.Add(clock.Elapsed.TotalMilliseconds);
                children.Add(child);
            }
            long childDisks = 0;
            foreach (var child in children)
                childDisks += await plugins.Storage.AllocatedBytesAsync(child.Disk, CancellationToken.None);
            var fullCopy = long.Parse((await HostCommand.RunAsync("stat", ["-L", "-c", "%b", image.RootFilesystem.Path], CancellationToken.None)).Trim(), CultureInfo.InvariantCulture) * 512;
            foreach (var child in children)
                await vms.DestroyAsync(child, CancellationToken.None);
            await vms.DestroyAsync(running, CancellationToken.None);
            var median = childTimes.OrderBy(t => t).ElementAt(childTimes.Count / 2);

            var table = new StringBuilder()
                .AppendLine("# Pause, resume and templates (bench/Wrenn.Bench.Vm snapshots)")
                .AppendLine()
                .AppendLine(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:u}, {Environment.ProcessorCount} cores, accelerator {File.ReadAllText("/run/wrenn/qemu-accelerator").Trim()}, 1 vCPU; memory-file plugin (RAM in a shared file on {dataDir}), qcow2 storage.")
                .AppendLine("100 % dirtied cannot be had with a running guest OS; 50 % is the largest share measured.")
                .AppendLine()
                .AppendLine("| guest | pause | resume to first exec | cold boot to first exec (same run) | resume / cold |")
                .AppendLine("|---|---|---|---|---|")
                .Append(rows)
                .AppendLine()
                .AppendLine("| measurement | value | baseline (same run) | baseline value | ratio |")
                .AppendLine("|---|---|---|---|---|")
                .AppendLine(CultureInfo.InvariantCulture, $"| create from template to first exec (median of {childTimes.Count}) | {median:0} ms | cold boot to first exec, 256 MiB | {coldMs:0} ms | {median / coldMs:0.00}× |")
                .AppendLine(CultureInfo.InvariantCulture, $"| disk allocated by {children.Count} sandboxes from one template | {childDisks / 1024.0 / 1024:0.0} MiB | {children.Count} full copies of the root filesystem | {children.Count * fullCopy / 1024.0 / 1024:0.0} MiB | {(double)childDisks / (children.Count * fullCopy):0.000}× |");
            var output = Path.Combine(RepoPaths.Root, "bench", "results", "snapshots.md");
            await File.WriteAllTextAsync(output, table.ToString());
            Console.WriteLine(table);
        }
        finally
        {
            foreach (var vm in await plugins.Vmm.DiscoverAsync(owner, CancellationToken.None))
                await HostCommand.TryRunAsync("kill", ["-9", vm.Pid.ToString(CultureInfo.InvariantCulture)], CancellationToken.None);
            foreach (var slot in await plugins.Network.DiscoverAsync(owner, CancellationToken.None))
                await plugins.Network.ReleaseAsync(slot, CancellationToken.None);
            foreach (var dir in new[] { dataDir, runtimeDir })
                if (Directory.Exists(dir))
                    Directory.Delete(dir, recursive: true);
            TestPrefix.Retire(owner);
        }
    }
}
