using System.Diagnostics;
using System.Globalization;
using System.Text;
using Wrenn.Plugins.Memory.Uffd.PageServer;
using Wrenn.Plugins.Memory.Uffd.Snapshots;

// Touch every page of a region (1 GiB by default) through the userfaultfd page server, next to a
// memcpy of the same bytes from page cache and to touching a MAP_PRIVATE mapping of the same file.
// Usage: dotnet run -c Release --project bench/Wrenn.Bench.Uffd [MiB]; writes bench/results/uffd.md.
var mib = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1024;
const int page = 4096;
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
    var memcpyNs = long.Parse(Run(touch, ["memcpy", memory, pages.ToString(), page.ToString()]).Split('\n')[0]);
    var mmapNs = long.Parse(Run(touch, ["mmap", memory, pages.ToString(), page.ToString()]).Split('\n')[0]);

    var socket = Path.Combine("/run/wrenn", $"bench-uffd-{Environment.ProcessId}.sock");
    var serving = UffdPageServer.AcceptAsync(socket, header, folder, CancellationToken.None);
    var client = Task.Run(() => Run(touch, ["uffd", socket, pages.ToString(), page.ToString()]));
    using var server = await serving;
    var output = (await client).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    await server.Completion;
    var uffdNs = long.Parse(output[0]);
    // Latency of the accesses that faulted (a prefetched page costs a plain memory access).
    var faults = output.Skip(1).Select(long.Parse).Where(ns => ns > 2_000).Order().ToList();

    string Seconds(long ns) => $"{ns / 1e9:0.000} s";
    var table = new StringBuilder()
        .AppendLine("# memory-uffd: serving a restored VM's memory on demand")
        .AppendLine()
        .AppendLine($"`dotnet run -c Release --project bench/Wrenn.Bench.Uffd {mib}` on {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}: every 4 KiB page of a {mib} MiB region touched once, in order, the file in page cache.")
        .AppendLine()
        .AppendLine("| case | time to touch it all | pages/s |")
        .AppendLine("|---|---|---|")
        .AppendLine($"| through the uffd page server (UFFDIO_COPY, {UffdPageServer.PrefetchPages} pages prefetched on sequential faults) | {Seconds(uffdNs)} | {pages / (uffdNs / 1e9):N0} |")
        .AppendLine($"| baseline: read() of the same bytes from page cache | {Seconds(memcpyNs)} | {pages / (memcpyNs / 1e9):N0} |")
        .AppendLine($"| baseline: touching a MAP_PRIVATE mapping of the file | {Seconds(mmapNs)} | {pages / (mmapNs / 1e9):N0} |")
        .AppendLine()
        .AppendLine($"Faults served by the handler: {server.PagesCopied:N0} (+{server.PagesPrefetched:N0} pages prefetched); fault latency as the guest sees it: p50 {faults[faults.Count / 2] / 1000.0:0.0} µs, p99 {faults[(int)(faults.Count * 0.99)] / 1000.0:0.0} µs.");
    Directory.CreateDirectory(Path.Combine(root, "bench", "results"));
    await File.WriteAllTextAsync(Path.Combine(root, "bench", "results", "uffd.md"), table.ToString());
    Console.WriteLine(table);
}
finally
{
    Directory.Delete(folder, recursive: true);
}

static string Run(string program, string[] args)
{
    using var process = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
    var output = process.StandardOutput.ReadToEnd();
    var errors = process.StandardError.ReadToEnd();
    process.WaitForExit();
    if (process.ExitCode != 0)
        throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed: {errors}");
    return output;
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
