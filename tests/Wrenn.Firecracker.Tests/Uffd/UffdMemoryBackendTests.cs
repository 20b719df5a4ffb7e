using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Vmm;
using Wrenn.Plugins.Memory.Uffd;
using Wrenn.Plugins.Memory.Uffd.Snapshots;
using Wrenn.Testing;

namespace Wrenn.Firecracker.Tests.Uffd;

/// <summary>
/// The memory plugin's side of pauses and restores: Firecracker's full and diff memory files (sparse,
/// as Firecracker writes them, made here by the test) become generations under a header, the chain
/// collapses past its bound, and a restore is served by a page server to a process playing the VMM.
/// </summary>
public sealed class UffdMemoryBackendTests : IDisposable
{
    private const int Page = 4096;
    private const int Pages = 256;
    private readonly string _folder = Directory.CreateTempSubdirectory($"{TestPrefix.Family}-uffdmem-").FullName;
    private readonly byte[] _expected = new byte[Page * Pages];
    private readonly Random _random = new(11);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private SnapshotFiles Written(string memory, SnapshotKind kind) =>
        new(_folder, Path.Combine(_folder, "vmstate"), [Path.Combine(_folder, memory)], kind, Page * Pages / (1024 * 1024), 1, new Dictionary<string, string>());

    /// <summary>What Firecracker writes: the whole memory (full), or a sparse file with only the dirty pages (diff).</summary>
    private void WriteMemory(string name, IEnumerable<int>? dirty)
    {
        using var file = File.Create(Path.Combine(_folder, name));
        file.SetLength(Page * Pages);
        foreach (var p in dirty ?? Enumerable.Range(0, Pages))
        {
            var content = new byte[Page];
            _random.NextBytes(content);
            file.Position = (long)p * Page;
            file.Write(content);
            content.CopyTo(_expected, p * Page);
        }
    }

    [Fact]
    public async Task Diff_pauses_add_only_their_dirty_pages_the_fourth_collapses_and_a_restore_serves_the_layered_memory()
    {
        await HostSweep.RemoveLeftoversAsync();
        // As the silo's snapshot folders are (a temporary folder is its creator's alone): the jailed page server reads it.
        File.SetUnixFileMode(_folder, (UnixFileMode)0b111_101_101);
        var owner = TestPrefix.NewOwner();
        var host = new Wrenn.Abstractions.Plugins.PluginHost(owner, _folder, Path.Combine("/run/wrenn", owner), "/run/wrenn", "/var/cache/wrenn");
        var backend = new UffdMemoryBackend(Options.Create(new UffdOptions { MaxDiffGenerations = 3 }), host, NullLogger<UffdMemoryBackend>.Instance);
        var none = new MemoryBacking(MemoryBackingKind.Anonymous, null, false, new Dictionary<string, string>());
        WriteMemory("memory", null);
        var snapshot = await backend.CompleteSnapshotAsync(none, Written("memory", SnapshotKind.Full), default);
        for (var diff = 1; diff <= 4; diff++)
        {
            var dirty = Enumerable.Range(0, Pages).Where(_ => _random.Next(5) == 0).ToList();
            WriteMemory($"memory-diff-{diff}", dirty);
            snapshot = await backend.CompleteSnapshotAsync(none, Written($"memory-diff-{diff}", SnapshotKind.Diff), default);
            var header = SnapshotHeader.Read(snapshot.Properties["header"]);
            if (diff < 4)
            {
                Assert.Equal(diff + 1, header.Generations.Count);
                Assert.Equal(dirty.Count, Enumerable.Range(0, Pages).Count(b => header[b].Generation == diff)); // only its dirty pages
            }
            else
            {
                Assert.Single(header.Generations); // the bound of 3 diffs was reached: collapsed
                Assert.False(File.Exists(Path.Combine(_folder, "memory-diff-1")));
            }
        }

        var expected = Path.Combine(_folder, "expected");
        await File.WriteAllBytesAsync(expected, _expected);
        // Under the owner's folder: a sweep by another test class removes folders of unregistered owners.
        var workDir = Directory.CreateDirectory(Path.Combine(host.RuntimeDir, "uffd")).FullName;
        try
        {
            // The page server runs as a process of its own (it outlives the silo with its VM).
            var backing = await backend.PrepareRestoreAsync("sb-test", snapshot, workDir, default);
            Assert.Equal(MemoryBackingKind.Uffd, backing.Kind);
            Assert.True(Directory.Exists($"/proc/{backing.Properties["serverPid"]}"));
            // It runs in the sandbox's jail: unprivileged, no_new_privs, a root of its own, the sandbox's cgroup.
            var jail = Wrenn.Plugins.Jail.SandboxJail.FromProperties(owner, "sb-test", backing.Properties);
            var status = File.ReadAllLines($"/proc/{backing.Properties["serverPid"]}/status").Select(l => l.Split(':', 2)).ToDictionary(p => p[0], p => p[1].Trim());
            Assert.True(jail.Jailed);
            Assert.Equal($"{jail.Uid}\t{jail.Uid}\t{jail.Uid}\t{jail.Uid}", status["Uid"]);
            Assert.Equal(("1", "0000000000000000"), (status["NoNewPrivs"], status["CapEff"]));
            Assert.False(File.Exists($"/proc/{backing.Properties["serverPid"]}/root/etc/shadow"));
            Assert.True(File.Exists($"/proc/{backing.Properties["serverPid"]}/root{snapshot.Properties["header"]}"), "the snapshot it serves is not in its jail");
            Assert.Contains(int.Parse(backing.Properties["serverPid"]), Wrenn.Plugins.Jail.Cgroups.CgroupProcesses.In(jail.Cgroups));
            var watch = backend.WhenFailedAsync(backing, default);
            var vmmSide = await CompileVmmSideAsync();
            using var vmm = Process.Start(new ProcessStartInfo(vmmSide, [backing.Path!, expected, Pages.ToString(), Page.ToString(), "3"]) { RedirectStandardOutput = true })!;
            var output = await vmm.StandardOutput.ReadToEndAsync();
            await vmm.WaitForExitAsync();
            Assert.True(vmm.ExitCode == 0, output);
            // The VMM went away: its page server ends on its own, cleanly (an error would be in its log).
            var ended = await watch.WaitAsync(TimeSpan.FromSeconds(15));
            Assert.Contains("ended", ended);
            AssertCleanLog(backing.Properties["log"]);
            // It wrote the order it served pages in; the next pause keeps it beside the snapshot.
            WriteMemory("memory-diff-5", []);
            snapshot = await backend.CompleteSnapshotAsync(backing, Written("memory-diff-5", SnapshotKind.Diff), default);
            var kept = Path.Combine(_folder, UffdMemoryBackend.TraceFile);
            Assert.Equal(Pages, Wrenn.Plugins.Memory.Uffd.PageServer.PrefetchTrace.Read(kept).Pages);
            await backend.ReleaseAsync(backing, default);
            Assert.False(File.Exists(backing.Path));
            Assert.Empty(backend.Jails.OwnedBy(owner));
            Assert.All(jail.Cgroups, folder => Assert.False(Directory.Exists(folder)));

            // The next restore replays it; a pause while its VM still runs asks the server for its trace (SIGUSR1).
            var replaying = await backend.PrepareRestoreAsync("sb-test2", snapshot, workDir, default);
            Assert.Contains("--trace-in", File.ReadAllText($"/proc/{replaying.Properties["serverPid"]}/cmdline"));
            using (var held = Process.Start(new ProcessStartInfo(vmmSide, [replaying.Path!, expected, Pages.ToString(), Page.ToString(), "2", "shuffled", "hold"])
                   { RedirectStandardOutput = true, RedirectStandardInput = true })!)
            {
                Assert.Contains("0 mismatches", await held.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)));
                File.Delete(kept);
                WriteMemory("memory-diff-6", []);
                snapshot = await backend.CompleteSnapshotAsync(replaying, Written("memory-diff-6", SnapshotKind.Diff), default);
                Assert.True(File.Exists(kept), "the running page server wrote no trace when asked");
                Assert.Equal(Pages, Wrenn.Plugins.Memory.Uffd.PageServer.PrefetchTrace.Read(kept).Pages);
                Assert.True(Directory.Exists($"/proc/{replaying.Properties["serverPid"]}"), "the signal ended the page server");
                held.StandardInput.Close();
                await held.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
                Assert.Equal(0, held.ExitCode);
            }
            await backend.WhenFailedAsync(replaying, default).WaitAsync(TimeSpan.FromSeconds(15));
            AssertCleanLog(replaying.Properties["log"]);
            Assert.Contains("Replayed the prefetch trace", File.ReadAllText(replaying.Properties["log"]));
            await backend.ReleaseAsync(replaying, default);

            // A page server that dies under its VM is noticed (the silo then fails the sandbox).
            var second = await backend.PrepareRestoreAsync("sb-test3", snapshot, workDir, default);
            var dies = backend.WhenFailedAsync(second, default);
            Process.GetProcessById(int.Parse(second.Properties["serverPid"])).Kill();
            Assert.Contains("page server", await dies.WaitAsync(TimeSpan.FromSeconds(15)));
            await backend.ReleaseAsync(second, default);
        }
        finally
        {
            await Wrenn.Plugins.Jail.Jails.ReleaseOrphansAsync("/run/wrenn", owner, _ => false, NullLogger.Instance, default);
            Directory.Delete(host.RuntimeDir, recursive: true);
            TestPrefix.Retire(owner);
        }
    }

    /// <summary>The page server's log holds only information lines: no warning, error or crash.</summary>
    private static void AssertCleanLog(string path)
    {
        var log = File.ReadAllText(path);
        Assert.DoesNotContain("Warning:", log);
        Assert.DoesNotContain("Error:", log);
        Assert.DoesNotContain("Unhandled", log);
        Assert.DoesNotContain("page server for", log); // a failure's own line
    }

    private async Task<string> CompileVmmSideAsync()
    {
        var binary = Path.Combine(_folder, "vmm_side");
        using var gcc = Process.Start(new ProcessStartInfo("gcc", ["-O2", "-pthread", "-o", binary,
            Path.Combine(RepoPaths.Root, "tests", "Wrenn.Firecracker.Tests", "Uffd", "vmm_side.c")]) { RedirectStandardError = true })!;
        var errors = await gcc.StandardError.ReadToEndAsync();
        await gcc.WaitForExitAsync();
        Assert.True(gcc.ExitCode == 0, errors);
        return binary;
    }
}
