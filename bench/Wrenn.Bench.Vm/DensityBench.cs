using System.Diagnostics;
using System.Globalization;
using System.Text;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Sandboxes;
using Wrenn.Testing;

/// <summary>
/// Host memory per idle sandbox: N sandboxes created from the warm base (the normal create path)
/// on a silo per QEMU configuration, left to settle, then each one's QEMU and jail init read from
/// /proc/PID/smaps: the guest-RAM mapping (touched pages) and the rest (the VMM's overhead) by
/// kind. The first configuration is the baseline (the defaults before this bench: tb-size 64); a
/// short CPU-bound exec in one sandbox per configuration shows what a smaller translation cache
/// costs a busy guest.
/// </summary>
internal static class DensityBench
{
    private const int GuestMib = 256;

    /// <summary>label → settings under Wrenn:Plugins:qemu.</summary>
    private static readonly (string Label, Dictionary<string, string?> Settings)[] Configurations =
    [
        ("tb-size 64 (baseline)", new() { ["TcgTranslationCacheMib"] = "64" }),
        ("tb-size 32", new() { ["TcgTranslationCacheMib"] = "32" }),
        ("tb-size 16", new() { ["TcgTranslationCacheMib"] = "16" }),
        ("tb-size 8", new() { ["TcgTranslationCacheMib"] = "8" }),
        ("tb-size 64, MALLOC_ARENA_MAX=2", new() { ["TcgTranslationCacheMib"] = "64", ["MallocArenaMax"] = "2" }),
        ("tb-size 64 (baseline again, for drift)", new() { ["TcgTranslationCacheMib"] = "64" }),
    ];

    public static async Task RunAsync(int count, int settleSeconds, string[] only)
    {
        var rows = new List<Row>();
        foreach (var (label, settings) in Configurations.Where(c => only.Length == 0 || only.Any(o => c.Label.StartsWith(o, StringComparison.Ordinal))))
        {
            rows.Add(await MeasureAsync(label, settings, count, settleSeconds));
            Console.Error.WriteLine(rows[^1].Line());
        }
        var baseline = rows[0];
        var memTotalMib = MemInfoMib("MemTotal");
        var vcpuLimit = Environment.ProcessorCount * 8;
        var table = new StringBuilder()
            .AppendLine("# Host memory per idle sandbox")
            .AppendLine()
            .AppendLine($"`dotnet run -c Release --project bench/Wrenn.Bench.Vm -- density {count} {settleSeconds}` on {Environment.ProcessorCount} cores, {memTotalMib} MiB RAM, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, ")
            .AppendLine($"QEMU accelerator: {File.ReadAllText("/run/wrenn/qemu-accelerator").Trim()}, jailed, {count} idle sandboxes of 1 vCPU and {GuestMib} MiB per configuration, created from the warm base (a restore of its template), then {settleSeconds} s idle before /proc/PID/smaps of each QEMU and its jail init is read. One silo per configuration, one after the other in the same run; the first row is the baseline (the configuration before this change). Other engineers' VMs ran on the same host.")
            .AppendLine()
            .AppendLine("Overhead = PSS of QEMU + its jail init − PSS of the guest-RAM mapping. Medians over the sandboxes of a row.")
            .AppendLine()
            .AppendLine("| configuration | overhead (median) | min–max | of it: anonymous (heap, stacks, TCG buffer) | of it: TCG code buffer (rwx mapping) | of it: file-backed (libraries, binary) | jail init | guest RAM mapping: RSS (touched pages) | guest RAM mapping: PSS | CPU-bound exec (python3 start ×5, gzip 8 MiB) | vs baseline |")
            .AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var row in rows)
            table.AppendLine(row.Line(baseline));
        table.AppendLine()
            .AppendLine("## How many idle 256 MiB sandboxes this host holds")
            .AppendLine()
            .AppendLine(Capacity(rows, memTotalMib, vcpuLimit));
        var path = Path.Combine(RepoPaths.Root, "bench", "results", "density.md");
        await File.WriteAllTextAsync(path, table.ToString());
        Console.WriteLine(table);
    }

    private static string Capacity(List<Row> rows, int memTotalMib, int vcpuLimit)
    {
        var best = rows[0]; // the default configuration, which the silo reserves at
        var budget = memTotalMib - 1024; // CapacityOptions.MemoryMarginMib
        var byGuestOnly = budget / GuestMib;
        var byMeasured = budget / (GuestMib + (int)Math.Ceiling(best.Overhead.Median));
        var byTouched = budget / (int)Math.Ceiling(best.Touched.Median + best.Overhead.Median);
        return $"The first create refused is the {vcpuLimit + 1}th: {Environment.ProcessorCount} cores × CpuOvercommit 8 = {vcpuLimit} vCPUs, and each sandbox reserves 1. "
            + $"Memory alone (MemTotal {memTotalMib} MiB − MemoryMarginMib 1024 = {budget} MiB) would allow {byGuestOnly} reserved at the guest size only (the accounting before this change), "
            + $"{byMeasured} reserved at guest size + the measured overhead ({best.Label}: {best.Overhead.Median:0.0} MiB), "
            + $"and {byTouched} if each cost only what an idle one really touches ({best.Touched.Median:0.0} MiB of guest pages + {best.Overhead.Median:0.0} MiB). "
            + $"So the vCPU overcommit bounds density here, {Math.Min(byGuestOnly, byMeasured) / (double)vcpuLimit:0.0}× before memory.";
    }

    private static async Task<Row> MeasureAsync(string label, Dictionary<string, string?> settings, int count, int settleSeconds)
    {
        var qemuSettings = settings.ToDictionary(s => $"Wrenn:Plugins:qemu:{s.Key}", s => s.Value);
        await using var silo = await BenchSilo.StartAsync("bench-density", settings: qemuSettings);
        var host = silo.Host;
        var admin = (await host.Teams.AuthenticateAsync(host.FirstAdminKey!, CancellationToken.None))!;
        var ids = new List<string>();
        try
        {
            for (var i = 0; i < count; i++)
                ids.Add((await host.Sandboxes.CreateAsync(admin, new NewSandbox("base", TimeoutSeconds: 3600), CancellationToken.None)).Id);
            await Task.Delay(TimeSpan.FromSeconds(settleSeconds));
            var samples = new List<Sample>();
            foreach (var id in ids)
            {
                var vm = (await host.Store.GetAsync(id, CancellationToken.None))!.Vm!;
                samples.Add(Sample.Of(vm.Vm.Pid, GuestMib));
            }
            foreach (var m in Smaps.Read((await host.Store.GetAsync(ids[0], CancellationToken.None))!.Vm.Vm.Pid).OrderByDescending(m => m.PssKib).Take(12))
                Console.Error.WriteLine($"  {label}: {m.Perms} {m.Path,-40} size {m.SizeKib / 1024.0,7:0.0} MiB, rss {m.RssKib / 1024.0,6:0.0} MiB, pss {m.PssKib / 1024.0,6:0.0} MiB");
            var busy = await BusyExecAsync(host.Sandboxes.Sandbox(ids[0]), admin);
            return new Row(label, samples, busy);
        }
        finally
        {
            foreach (var id in ids)
                await host.Sandboxes.Sandbox(id).DestroyAsync(admin);
        }
    }

    /// <summary>
    /// A busy guest's work under TCG: python3 starting five times (a large code footprint, what a small
    /// translation cache would retranslate) and gzip of 8 MiB of text; the second of two runs, timed.
    /// </summary>
    private static async Task<double> BusyExecAsync(ISandboxGrain sandbox, Caller admin)
    {
        await sandbox.ExecAsync(admin, new ExecRequest("sh", ["-c", "seq 1 1200000 > /tmp/text"]), CancellationToken.None);
        var work = new ExecRequest("sh", ["-c", "for i in 1 2 3 4 5; do python3 -c 'import json, re, collections'; done; gzip -c /tmp/text > /dev/null"], TimeoutSeconds: 600);
        await sandbox.ExecAsync(admin, work, CancellationToken.None);
        var clock = Stopwatch.StartNew();
        await sandbox.ExecAsync(admin, work, CancellationToken.None);
        return clock.Elapsed.TotalMilliseconds;
    }

    private static int MemInfoMib(string field) =>
        (int)(long.Parse(File.ReadLines("/proc/meminfo").First(l => l.StartsWith(field + ":", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024);

    private sealed record Row(string Label, List<Sample> Samples, double BusyMs)
    {
        public Stats Overhead => new(Samples.Select(s => s.OverheadMib));

        public Stats Touched => new(Samples.Select(s => s.GuestRssMib));

        public string Line(Row? baseline = null)
        {
            var o = Overhead;
            return $"| {Label} | {o.Median:0.0} MiB | {o.Min:0.0}–{o.Max:0.0} MiB | {new Stats(Samples.Select(s => s.AnonymousMib)).Median:0.0} MiB | {new Stats(Samples.Select(s => s.TcgBufferMib)).Median:0.0} MiB | "
                + $"{new Stats(Samples.Select(s => s.FileMib)).Median:0.0} MiB | {new Stats(Samples.Select(s => s.InitMib)).Median:0.0} MiB | {Touched.Median:0.0} MiB | {new Stats(Samples.Select(s => s.GuestPssMib)).Median:0.0} MiB | "
                + $"{BusyMs / 1000:0.00} s | {(baseline is null ? "" : $"overhead {o.Median / baseline.Overhead.Median:0.00}×, exec {BusyMs / baseline.BusyMs:0.00}×")} |";
        }
    }

    private sealed class Stats(IEnumerable<double> values)
    {
        private readonly List<double> _sorted = values.OrderBy(v => v).ToList();

        public double Median => _sorted[_sorted.Count / 2];

        public double Min => _sorted[0];

        public double Max => _sorted[^1];
    }

    /// <summary>One sandbox's QEMU and jail init, from smaps (MiB).</summary>
    private sealed record Sample(double GuestRssMib, double GuestPssMib, double AnonymousMib, double TcgBufferMib, double FileMib, double InitMib)
    {
        public double OverheadMib => AnonymousMib + FileMib + InitMib;

        public static Sample Of(int qemuPid, int guestMib)
        {
            var init = ParentOf(qemuPid);
            double guestRss = 0, guestPss = 0, anonymous = 0, tcg = 0, file = 0;
            foreach (var m in Smaps.Read(qemuPid))
            {
                // Guest RAM: the memory-backend mapping (its file, or an anonymous block of exactly the guest's size).
                if (m.SizeKib == guestMib * 1024L && (m.Path is "" || m.Path.Contains("memory", StringComparison.Ordinal)))
                {
                    guestRss += m.RssKib / 1024.0;
                    guestPss += m.PssKib / 1024.0;
                }
                else if (m.Path.StartsWith('/'))
                {
                    file += m.PssKib / 1024.0;
                }
                else
                {
                    anonymous += m.PssKib / 1024.0;
                    if (m.Perms == "rwxp") // TCG's code_gen_buffer: the one writable and executable mapping
                        tcg += m.PssKib / 1024.0;
                }
            }
            var initPss = init is { } pid ? Smaps.Read(pid).Sum(m => m.PssKib) / 1024.0 : 0;
            return new Sample(guestRss, guestPss, anonymous, tcg, file, initPss);
        }

        private static int? ParentOf(int pid)
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("PPid:", StringComparison.Ordinal));
            return line is null ? null : int.Parse(line[5..].Trim(), CultureInfo.InvariantCulture);
        }
    }
}
