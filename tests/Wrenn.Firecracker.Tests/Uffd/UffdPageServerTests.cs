using System.Diagnostics;
using Wrenn.Plugins.Memory.Uffd.PageServer;
using Wrenn.Plugins.Memory.Uffd.Snapshots;
using Wrenn.Testing;

namespace Wrenn.Firecracker.Tests.Uffd;

/// <summary>
/// The page server with real userfaultfd: a test process (vmm_side.c, compiled here with gcc) plays
/// Firecracker's side of the handshake and touches every page from several threads.
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
