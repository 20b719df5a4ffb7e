using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Wrenn.Plugins.Memory.Uffd.PageServer;
using Wrenn.Plugins.Memory.Uffd.Snapshots;

// Touch every page of a region (1 GiB by default) through the userfaultfd page server, next to a
// read() of the same bytes from page cache and to touching a MAP_PRIVATE mapping of the same file,
// all in one run: a first restore (no trace) and a second one replaying the trace the first
// recorded, in order and in a shuffled order. Every case runs REPEAT times (3 by default, the
// machine is shared); the table gives medians.
// Usage: dotnet run -c Release --project bench/Wrenn.Bench.Uffd [MiB] [--repeat N] [--write PATH|--no-write]
//        [page server options: --fault-threads N --fault-run N --prefetch-chunk N --readahead MIN:MAX --prefetch-trace 0|1]
var mib = 1024;
var repeat = 3;
var options = new PageServerOptions();
string? write = null;
var noWrite = false;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--repeat": repeat = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--write": write = args[++i]; break;
        case "--no-write": noWrite = true; break;
        case var name when name.StartsWith("--", StringComparison.Ordinal): options = PageServerOptions.Parse(name, args[++i], options); break;
        default: mib = int.Parse(args[i], CultureInfo.InvariantCulture); break;
    }
}
options = options.Validated("bench");
const int page = 4096;
const int seed = 42;
var pages = mib * 1024 * 1024 / page;
var root = FindRoot();
var folder = Directory.CreateTempSubdirectory("wrenn-bench-uffd-").FullName;
try
{
    var touch = Path.Combine(folder, "touch");
    Run("gcc", ["-O2", "-o", touch, Path.Combine(root, "bench", "Wrenn.Bench.Uffd", "touch.c")]);
    var memory = Path.Combine(folder, "gen-0");
    await using (var file = File.Create(memory))
    {
        var block = new byte[1 << 20];
        Random.Shared.NextBytes(block);
        for (var written = 0; written < mib; written++)
            await file.WriteAsync(block);
    }
    var header = SnapshotHeader.Full((long)pages * page, page, "gen-0");
    // Warm the page cache so that every case reads from memory, not the disk.
    Run(touch, ["memcpy", memory, pages.ToString(), page.ToString()]);

    var results = new Dictionary<string, List<Result>>();
    void Add(string name, Result result) => (results.TryGetValue(name, out var list) ? list : results[name] = []).Add(result);
    for (var r = 0; r < repeat; r++)
    {
        Add("memcpy", new Result(long.Parse(Run(touch, ["memcpy", memory, pages.ToString(), page.ToString()]).Split('\n')[0]), [], 0, 0, 0));
        Add("mmap", new Result(long.Parse(Run(touch, ["mmap", memory, pages.ToString(), page.ToString()]).Split('\n')[0]), [], 0, 0, 0));
        var inOrder = await Restore(null, null);
        Add("first", inOrder.Result);
        Add("second", (await Restore(inOrder.Trace, null)).Result);
        var shuffled = await Restore(null, seed);
        Add("first-shuffled", shuffled.Result);
        Add("second-shuffled", (await Restore(shuffled.Trace, seed)).Result);
    }

    async Task<(Result Result, PrefetchTrace Trace)> Restore(PrefetchTrace? replay, int? order)
    {
        var socket = Path.Combine("/run/wrenn", $"bench-uffd-{Environment.ProcessId}.sock");
        var serving = UffdPageServer.AcceptAsync(socket, header, folder, options, replay, NullLogger.Instance, CancellationToken.None);
        string[] touchArgs = order is { } s ? ["uffd", socket, pages.ToString(), page.ToString(), s.ToString()] : ["uffd", socket, pages.ToString(), page.ToString()];
        var client = Task.Run(() => Run(touch, touchArgs));
        using var server = await serving;
        var output = (await client).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        await server.Completion;
        // Latency of the accesses that faulted (a page already there costs a plain memory access).
        var faults = output.Skip(1).Select(long.Parse).Where(ns => ns > 2_000).Order().ToList();
        return (new Result(long.Parse(output[0]), faults, server.Faults, server.PagesPrefetched, server.Copies), server.Trace);
    }

    Result Median(string name) => results[name].OrderBy(r => r.Ns).ElementAt(results[name].Count / 2);
    double MedianOf(string name, Func<Result, double> value) => results[name].Select(value).Order().ElementAt(results[name].Count / 2);
    string Seconds(long ns) => $"{ns / 1e9:0.000} s";
    string Micro(double ns) => double.IsNaN(ns) ? "–" : $"{ns / 1000.0:0.0} µs";
    var memcpy = Median("memcpy").Ns;
    string Row(string label, string name)
    {
        var m = Median(name);
        return $"| {label} | {Seconds(m.Ns)} | {m.Ns / (double)memcpy:0.00}× | {pages / (m.Ns / 1e9):N0} | {Micro(MedianOf(name, r => r.Percentile(0.5)))} | {Micro(MedianOf(name, r => r.Percentile(0.99)))} | {m.Faults:N0} | {m.Prefetched:N0} | {m.Copies:N0} |";
    }
    var settings = string.Join(" ", options.ToArguments());
    var table = new StringBuilder()
        .AppendLine("# memory-uffd: serving a restored VM's memory on demand")
        .AppendLine()
        .AppendLine($"`dotnet run -c Release --project bench/Wrenn.Bench.Uffd {mib}` on {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}: every 4 KiB page of a {mib} MiB region touched once, the file in page cache; page server `{settings}`. Each case ran {repeat} times in this one run, interleaved with its baselines; the table gives the run with the median time (latency columns: the median of the runs' percentiles).")
        .AppendLine()
        .AppendLine("| case | time to touch it all | × read() | pages/s | p50 fault | p99 fault | faults | pages prefetched | copy calls |")
        .AppendLine("|---|---|---|---|---|---|---|---|---|")
        .AppendLine("| before (2026-11-22): page server, page by page, 16 pages prefetched on sequential faults | 2.055 s | 3.83× | 127,570 | 28.8 µs | 70.4 µs | 29,128 | 233,016 | – |")
        .AppendLine(Row("page server, first restore (no trace), in order", "first"))
        .AppendLine(Row("page server, second restore replaying the first's trace, in order", "second"))
        .AppendLine(Row("page server, first restore (no trace), shuffled order", "first-shuffled"))
        .AppendLine(Row("page server, second restore replaying the first's trace, the same shuffled order", "second-shuffled"))
        .AppendLine(Row("baseline: read() of the same bytes from page cache", "memcpy"))
        .AppendLine(Row("baseline: touching a MAP_PRIVATE mapping of the file", "mmap"));
    if (!noWrite)
    {
        var path = write ?? Path.Combine(root, "bench", "results", "uffd.md");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, table.ToString());
    }
    Console.WriteLine(table);
}
finally
{
    Directory.Delete(folder, recursive: true);
}

static string Run(string program, string[] args)
{
    using var process = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
    var output = process.StandardOutput.ReadToEndAsync();
    var errors = process.StandardError.ReadToEnd();
    process.WaitForExit();
    if (process.ExitCode != 0)
        throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed: {errors}");
    return output.Result;
}

static string FindRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "Wrenn.slnx")))
            return dir.FullName;
    }
    return Directory.GetCurrentDirectory();
}

/// <summary>One case's run: its total time, the latencies of the accesses that faulted (sorted), and the server's counters.</summary>
internal sealed record Result(long Ns, List<long> FaultNs, long Faults, long Prefetched, long Copies)
{
    public double Percentile(double p) => FaultNs.Count == 0 ? double.NaN : FaultNs[Math.Min(FaultNs.Count - 1, (int)(FaultNs.Count * p))];
}
