using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Wrenn.Plugins.Memory.Uffd.PageServer;
using Wrenn.Plugins.Memory.Uffd.Snapshots;
using Wrenn.Testing;

namespace Wrenn.Firecracker.Tests.Uffd;

/// <summary>
/// The page server with real userfaultfd: a test process (vmm_side.c, compiled here with gcc) plays
/// Firecracker's side of the handshake and touches every page (from several threads, or in order)
/// and checks every byte.
/// </summary>
public sealed class UffdPageServerTests : IDisposable
{
    private const int Page = 4096;
    private const int Pages = 512;
    private readonly string _folder = Directory.CreateTempSubdirectory($"{TestPrefix.Family}-uffd-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private async Task<string> CompileVmmSideAsync()
    {
        var binary = Path.Combine(_folder, "vmm_side");
        var source = Path.Combine(RepoPaths.Root, "tests", "Wrenn.Firecracker.Tests", "Uffd", "vmm_side.c");
        using var gcc = Process.Start(new ProcessStartInfo("gcc", ["-O2", "-pthread", "-o", binary, source]) { RedirectStandardError = true })!;
        var errors = await gcc.StandardError.ReadToEndAsync();
        await gcc.WaitForExitAsync();
        Assert.True(gcc.ExitCode == 0, $"gcc failed: {errors}");
        return binary;
    }

    /// <summary>Base + 3 diff generations with overlapping dirty pages (bound 3: the next pause would collapse); returns the header and the layered content.</summary>
    private (SnapshotHeader Header, byte[] Layered) LayeredSnapshot()
    {
        var layered = new byte[Page * Pages];
        var random = new Random(7);
        bool IsZero(long block) => block % 5 == 0;
        using (var base0 = File.Create(Path.Combine(_folder, "gen-0")))
        {
            for (var i = 0; i < Pages; i++)
            {
                var content = new byte[Page];
                if (!IsZero(i))
                    random.NextBytes(content);
                base0.Write(content);
                content.CopyTo(layered, i * Page);
            }
        }
        var header = SnapshotHeader.Full(Page * Pages, Page, "gen-0", IsZero);
        for (var generation = 1; generation <= 3; generation++)
        {
            var dirty = Enumerable.Range(0, Pages).Where(_ => random.Next(4) == 0).Select(b => (long)b).ToArray();
            using (var file = File.Create(Path.Combine(_folder, $"gen-{generation}")))
            {
                foreach (var block in dirty)
                {
                    var content = new byte[Page];
                    random.NextBytes(content);
                    file.Write(content);
                    content.CopyTo(layered, block * Page);
                }
            }
            header = header.WithDiff($"gen-{generation}", dirty);
        }
        Assert.True(header.ShouldCollapse(maxDiffGenerations: 3));
        return (header, layered);
    }

    /// <summary>One generation, every page data (no zero blocks): runs are only bounded by their length.</summary>
    private (SnapshotHeader Header, byte[] Content) SingleGeneration()
    {
        var content = new byte[Page * Pages];
        new Random(3).NextBytes(content);
        File.WriteAllBytes(Path.Combine(_folder, "gen-0"), content);
        return (SnapshotHeader.Full(Page * Pages, Page, "gen-0"), content);
    }

    /// <summary>Serves one restore to vmm_side touching every page with <paramref name="threads"/> threads in <paramref name="order"/>; asserts every byte was right.</summary>
    private async Task<UffdPageServer> RestoreAsync(SnapshotHeader header, byte[] content, PageServerOptions options, PrefetchTrace? replay, int threads, string order = "shuffled")
    {
        var vmmSide = await CompileVmmSideAsync();
        var expected = Path.Combine(_folder, "expected");
        await File.WriteAllBytesAsync(expected, content);
        var socket = Path.Combine("/run/wrenn", $"{TestPrefix.Family}uffd-{Environment.ProcessId}.sock");
        var serving = UffdPageServer.AcceptAsync(socket, header, _folder, options, replay, NullLogger.Instance, CancellationToken.None);
        using var vmm = Process.Start(new ProcessStartInfo(vmmSide, [socket, expected, Pages.ToString(), Page.ToString(), threads.ToString(), order])
        { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var server = await serving.WaitAsync(TimeSpan.FromSeconds(30));
        var output = vmm.StandardOutput.ReadToEndAsync();
        var errors = vmm.StandardError.ReadToEndAsync();
        await vmm.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(vmm.ExitCode == 0, $"the VMM side saw wrong memory: {await output} {await errors}");
        Assert.Contains($"checked {Pages} pages from {threads} threads, 0 mismatches", await output);
        await server.Completion.WaitAsync(TimeSpan.FromSeconds(10)); // the VMM went away: the server ends cleanly
        Assert.False(File.Exists(socket));
        return server;
    }

    private static readonly PageServerOptions NoPrefetch = new() { ReadaheadMaxPages = 0, PrefetchTrace = false };

    [Fact]
    public async Task A_fault_copies_its_page_then_the_contiguous_run_after_it_in_one_more_UFFDIO_COPY()
    {
        var (header, content) = SingleGeneration();
        using var server = await RestoreAsync(header, content, NoPrefetch with { FaultRunPages = 16 }, null, threads: 1, order: "inorder");
        Assert.Equal(Pages / 16, server.Faults); // touched in order: one fault per run of 16
        Assert.Equal(2 * Pages / 16, server.Copies);
        Assert.Equal(Pages, server.PagesCopied + server.PagesPrefetched);
    }

    [Fact]
    public async Task Runs_stop_where_the_layers_of_a_snapshot_change_and_every_byte_is_right()
    {
        var (header, layered) = LayeredSnapshot();
        using var server = await RestoreAsync(header, layered, NoPrefetch with { FaultRunPages = 64 }, null, threads: 1, order: "inorder");
        Assert.True(server.Faults < Pages, $"{server.Faults} faults for {Pages} pages touched in order: runs were not coalesced");
        Assert.True(server.Copies > 2 * Pages / 64, "a run went over a change of generation");
        Assert.Equal(Pages, server.PagesCopied + server.PagesZeroed + server.PagesPrefetched);
    }

    [Fact]
    public async Task Several_fault_threads_serve_every_page_once_and_every_byte_is_right()
    {
        var (header, layered) = LayeredSnapshot();
        using var server = await RestoreAsync(header, layered, new PageServerOptions { FaultThreads = 4 }, null, threads: 4);
        Assert.Equal(Pages, server.PagesCopied + server.PagesZeroed + server.PagesPrefetched); // every page filled exactly once
    }

    [Fact]
    public async Task The_order_pages_were_served_in_is_recorded_and_replayed_ahead_of_the_guest_on_the_next_restore()
    {
        var (header, layered) = LayeredSnapshot();
        var options = NoPrefetch with { FaultRunPages = 1 };
        PrefetchTrace recorded;
        using (var first = await RestoreAsync(header, layered, options, null, threads: 1))
        {
            Assert.Equal(0, first.PagesPrefetched); // runs of 1, no read-ahead: every page was a fault
            recorded = first.Trace;
            Assert.Equal(Pages, recorded.Pages); // every page, once
            Assert.Equal(Pages, recorded.Runs.SelectMany(r => Enumerable.Range((int)r.Start, (int)r.Pages)).Distinct().Count());
        }
        var path = Path.Combine(_folder, "memory.trace");
        recorded.Write(path);
        var replay = PrefetchTrace.Read(path);
        Assert.Equal(recorded.Runs, replay.Runs);

        using var second = await RestoreAsync(header, layered, options with { PrefetchTrace = true }, replay, threads: 1);
        Assert.True(second.PagesPrefetched > 0, "nothing was prefetched from the trace");
        Assert.True(second.Faults < Pages, $"{second.Faults} faults: the replay never got ahead of the guest");
        Assert.Equal(Pages, second.PagesCopied + second.PagesZeroed + second.PagesPrefetched);
    }

    [Fact]
    public async Task A_missing_or_corrupt_trace_means_no_prefetch_and_the_restore_is_served_all_the_same()
    {
        var (header, layered) = LayeredSnapshot();
        var path = Path.Combine(_folder, "memory.trace");
        Assert.Null(ServerProgram.LoadTrace(path, NullLogger.Instance)); // missing
        new PrefetchTrace([new TraceRun(0, Pages)]).Write(path);
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[20] ^= 0xFF;
        await File.WriteAllBytesAsync(path, bytes);
        Assert.Throws<PrefetchTraceException>(() => PrefetchTrace.Read(path));
        Assert.Null(ServerProgram.LoadTrace(path, NullLogger.Instance)); // corrupt
        await File.WriteAllBytesAsync(path, bytes[..30]);
        Assert.Null(ServerProgram.LoadTrace(path, NullLogger.Instance)); // truncated

        using var server = await RestoreAsync(header, layered, NoPrefetch with { PrefetchTrace = true }, null, threads: 2);
        Assert.Equal(Pages, server.PagesCopied + server.PagesZeroed + server.PagesPrefetched);
    }

    [Fact]
    public void Options_that_cannot_work_are_refused_with_their_names()
    {
        var problems = new PageServerOptions { FaultThreads = 0, FaultRunPages = 0, ReadaheadMinPages = 10, ReadaheadMaxPages = 5 }.Problems("X").ToList();
        Assert.Contains(problems, p => p.Contains("X:FaultThreads"));
        Assert.Contains(problems, p => p.Contains("X:FaultRunPages"));
        Assert.Contains(problems, p => p.Contains("X:ReadaheadMinPages"));
        Assert.Throws<ArgumentException>(() => new PageServerOptions { PrefetchChunkPages = 0 }.Validated());
        var parsed = new PageServerOptions { FaultThreads = 3, ReadaheadMinPages = 8, ReadaheadMaxPages = 64, PrefetchTrace = false, SpinMicroseconds = 5 };
        var args = parsed.ToArguments().ToArray();
        var back = new PageServerOptions();
        for (var i = 0; i < args.Length; i += 2)
            back = PageServerOptions.Parse(args[i], args[i + 1], back);
        Assert.Equal(parsed, back);
    }

    [Fact]
    public async Task Every_page_touched_from_several_threads_reads_as_the_layered_snapshot_and_the_server_ends_with_the_vmm()
    {
        var vmmSide = await CompileVmmSideAsync();
        var (header, layered) = LayeredSnapshot();
        var expected = Path.Combine(_folder, "expected");
        await File.WriteAllBytesAsync(expected, layered);
        var socket = Path.Combine("/run/wrenn", $"{TestPrefix.Family}uffd-{Environment.ProcessId}.sock");

        var serving = UffdPageServer.AcceptAsync(socket, header, _folder, CancellationToken.None);
        using var vmm = Process.Start(new ProcessStartInfo(vmmSide, [socket, expected, Pages.ToString(), Page.ToString(), "4"])
        { RedirectStandardOutput = true, RedirectStandardError = true })!;
        using var server = await serving.WaitAsync(TimeSpan.FromSeconds(30));
        var output = vmm.StandardOutput.ReadToEndAsync();
        var errors = vmm.StandardError.ReadToEndAsync();
        await vmm.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(vmm.ExitCode == 0, $"the VMM side saw wrong memory: {await output} {await errors}");
        Assert.Contains($"checked {Pages} pages from 4 threads, 0 mismatches", await output);
        await server.Completion.WaitAsync(TimeSpan.FromSeconds(10)); // the VMM went away: the server ends cleanly
        Assert.Equal(Pages, server.PagesCopied + server.PagesZeroed + server.PagesPrefetched); // every page filled exactly once
        Assert.True(server.PagesZeroed > 0 && server.PagesCopied > 0);
        Assert.False(File.Exists(socket));
    }
}
