using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Wrenn.Abstractions.Plugins;
using Wrenn.Plugins.Jail;
using Wrenn.Plugins.Memory.File;
using Wrenn.Plugins.Vmm.Qemu;
using Wrenn.Silo.Sandboxes;
using Wrenn.Testing;

/// <summary>
/// What the jail costs, each measurement with the jail on next to the same with it off, alternating
/// in one run: create → first exec (a boot, and a restore from a template, which on QEMU 7.2 copies
/// the template's memory), an exec round trip, QEMU's own memory; then a neighbour's exec latency
/// beside a VM running CPU hogs, without a quota and with one.
/// </summary>
internal static class JailBench
{
    public static async Task RunAsync(int rounds, int roundTrips)
    {
        await HostSweep.RemoveLeftoversAsync();
        var owner = TestPrefix.NewOwner();
        var dataDir = $"/run/wrenn/{owner}-data";
        var host = new PluginHost(owner, dataDir, $"/run/wrenn/{owner}", "/run/wrenn", "/var/cache/wrenn");
        var plugins = LocalPlugins.Create(host, NullLoggerFactory.Instance);
        SandboxVms Vms(JailOptions jail) => new(
            new QemuVmm(Options.Create(new QemuOptions { Jail = jail }), host, NullLogger<QemuVmm>.Instance),
            plugins.Storage, plugins.Network, host, NullLogger<SandboxVms>.Instance, plugins.Clock, new FileMemoryBackend(host, NullLogger<FileMemoryBackend>.Instance));
        var jailed = Vms(new JailOptions());
        var open = Vms(new JailOptions { Enabled = false });
        var image = GuestImage.FromDirectory(RepoPaths.ImageDir);
        var size = new VmSize(1, 256);
        var results = new Dictionary<string, List<double>>();
        void Add(string key, double value) => (results.TryGetValue(key, out var list) ? list : results[key] = []).Add(value);
        try
        {
            // The template children restore from: the image booted once and frozen.
            var source = await open.CreateAsync(NewId(), image, size, CancellationToken.None);
            var (template, running) = await open.CreateTemplateAsync(source, Path.Combine(dataDir, "templates", "bench"), image, CancellationToken.None);
            await open.DestroyAsync(running, CancellationToken.None);

            for (var i = 0; i < rounds; i++)
            {
                foreach (var (name, vms) in new[] { ("on", jailed), ("off", open) })
                {
                    var clock = Stopwatch.StartNew();
                    var booted = await vms.CreateAsync(NewId(), image, size, CancellationToken.None);
                    using (var agent = booted.Agent())
                        await agent.ExecAsync("true", null, CancellationToken.None);
                    Add($"boot {name}", clock.Elapsed.TotalMilliseconds);
                    await vms.DestroyAsync(booted, CancellationToken.None);

                    clock.Restart();
                    var child = await vms.CreateFromTemplateAsync(NewId(), template, image, CancellationToken.None);
                    using (var agent = child.Agent())
                        await agent.ExecAsync("true", null, CancellationToken.None);
                    Add($"restore {name}", clock.Elapsed.TotalMilliseconds);
                    await vms.DestroyAsync(child, CancellationToken.None);
                }
                Console.Error.WriteLine($"round {i + 1}/{rounds}: boot {results["boot on"][^1]:0}/{results["boot off"][^1]:0} ms, restore {results["restore on"][^1]:0}/{results["restore off"][^1]:0} ms (on/off)");
            }

            // Exec round trips and QEMU's own memory after a workload, on one VM of each.
            foreach (var (name, vms) in new[] { ("on", jailed), ("off", open) })
            {
                var vm = await vms.CreateAsync(NewId(), image, size, CancellationToken.None);
                using (var agent = vm.Agent())
                {
                    for (var i = 0; i < roundTrips; i++)
                    {
                        var clock = Stopwatch.StartNew();
                        await agent.ExecAsync("true", null, CancellationToken.None);
                        Add($"exec {name}", clock.Elapsed.TotalMilliseconds);
                    }
                    // Work that translates a lot of code and touches memory and the disk.
                    await agent.ExecAsync("sh", ["-c", "python3 -c \"import hashlib,json,os\nb=os.urandom(64<<20)\nfor i in range(20): hashlib.sha256(b).hexdigest(); json.dumps(list(range(100000)))\" && dd if=/dev/zero of=/root/f bs=1M count=128 2>/dev/null && sync"], CancellationToken.None);
                }
                Add($"anon {name}", Kib(vm.Vm.Pid, "RssAnon") / 1024.0);
                Add($"hwm {name}", Kib(vm.Vm.Pid, "VmHWM") / 1024.0);
                await vms.DestroyAsync(vm, CancellationToken.None);
            }

            // A neighbour's exec latency next to a 2-vCPU VM running two CPU hogs: idle, hogs unlimited (jail off), hogs at half a CPU per vCPU (jail on).
            var neighbour = await jailed.CreateAsync(NewId(), image, size, CancellationToken.None);
            var limited = Vms(new JailOptions { CpuPerVcpu = 0.5 });
            try
            {
                await MeasureNeighbourAsync(neighbour, roundTrips, v => Add("neighbour idle", v));
                foreach (var (name, vms) in new[] { ("unlimited", open), ("quota", limited) })
                {
                    var hog = await vms.CreateAsync(NewId(), image, new VmSize(2, 256), CancellationToken.None);
                    using (var agent = hog.Agent())
                        await agent.ExecAsync("sh", ["-c", "for i in 1 2; do setsid sh -c 'while :; do :; done' >/dev/null 2>&1 & done"], CancellationToken.None);
                    await Task.Delay(TimeSpan.FromSeconds(2));
                    await MeasureNeighbourAsync(neighbour, roundTrips, v => Add($"neighbour {name}", v));
                    await vms.DestroyAsync(hog, CancellationToken.None);
                }
            }
            finally
            {
                await jailed.DestroyAsync(neighbour, CancellationToken.None);
            }

            var options = new QemuOptions();
            var table = new StringBuilder()
                .AppendLine("# The jail's cost (bench/Wrenn.Bench.Vm -- jail)")
                .AppendLine()
                .AppendLine($"`dotnet run -c Release --project bench/Wrenn.Bench.Vm -- jail {rounds} {roundTrips}` on {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, ")
                .AppendLine($"QEMU accelerator {File.ReadAllText("/run/wrenn/qemu-accelerator").Trim()}, 1 vCPU and 256 MiB, TCG translation cache {options.TcgTranslationCacheMib} MiB in both. ")
                .AppendLine("Jail on (the default) and off (QEMU as root in the host's root, no seccomp, no cgroup), alternating in one run on a machine shared with other builds.")
                .AppendLine()
                .AppendLine("| measurement | jail on: median | p90 | jail off (baseline): median | p90 | runs | on / off |")
                .AppendLine("|---|---|---|---|---|---|---|")
                .AppendLine(Row("create → first exec, boot", "boot", "ms"))
                .AppendLine(Row("create → first exec, restore from a template", "restore", "ms"))
                .AppendLine(Row("exec `true` round trip", "exec", "ms"))
                .AppendLine(Row("QEMU anonymous memory after a workload (RssAnon)", "anon", "MiB"))
                .AppendLine(Row("QEMU peak resident memory, guest RAM pages included (VmHWM)", "hwm", "MiB"))
                .AppendLine()
                .AppendLine("A neighbour's exec `true` round trip (a jailed 1-vCPU VM) next to a 2-vCPU VM running two CPU hogs:")
                .AppendLine()
                .AppendLine("| neighbour of | median | p90 | runs |")
                .AppendLine("|---|---|---|---|")
                .AppendLine(Single("no hog (baseline)", "neighbour idle"))
                .AppendLine(Single("hogs without a quota (jail off)", "neighbour unlimited"))
                .AppendLine(Single("hogs under a quota of half a CPU per vCPU (jail on)", "neighbour quota"));
            var path = Path.Combine(RepoPaths.Root, "bench", "results", "jail.md");
            await File.WriteAllTextAsync(path, table.ToString());
            Console.WriteLine(table);
        }
        finally
        {
            await plugins.WithSnapshots(NullLoggerFactory.Instance).RemoveOrphansAsync(_ => false, CancellationToken.None);
            foreach (var dir in new[] { dataDir, $"/run/wrenn/{owner}" })
            {
                if (Directory.Exists(dir))
                    Directory.Delete(dir, recursive: true);
            }
            TestPrefix.Retire(owner);
        }

        string Row(string name, string key, string unit) =>
            $"| {name} | {Median(results[$"{key} on"]):0.0} {unit} | {P90(results[$"{key} on"]):0.0} {unit} | {Median(results[$"{key} off"]):0.0} {unit} | {P90(results[$"{key} off"]):0.0} {unit} | {results[$"{key} on"].Count} | {Median(results[$"{key} on"]) / Median(results[$"{key} off"]):0.00}× |";
        string Single(string name, string key) => $"| {name} | {Median(results[key]):0.0} ms | {P90(results[key]):0.0} ms | {results[key].Count} |";
    }

    private static async Task MeasureNeighbourAsync(SandboxVm neighbour, int roundTrips, Action<double> add)
    {
        using var agent = neighbour.Agent();
        for (var i = 0; i < roundTrips; i++)
        {
            var clock = Stopwatch.StartNew();
            await agent.ExecAsync("true", null, CancellationToken.None);
            add(clock.Elapsed.TotalMilliseconds);
        }
    }

    private static string NewId() => Wrenn.Grains.Ids.SandboxId.New().ToString();

    private static long Kib(int pid, string field) =>
        long.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal)).Split(':')[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture);

    private static double Median(List<double> values) => Percentile(values, 0.5);

    private static double P90(List<double> values) => Percentile(values, 0.9);

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[(int)Math.Clamp(Math.Round(p * (sorted.Count - 1)), 0, sorted.Count - 1)];
    }
}
