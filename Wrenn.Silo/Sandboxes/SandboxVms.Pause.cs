using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Wrenn.Abstractions.Vmm;

namespace Wrenn.Silo.Sandboxes;

public sealed partial class SandboxVms
{
    /// <summary>
    /// vmm.Pause → vmm.Snapshot → memory.CompleteSnapshot → vmm.Stop → storage.Detach →
    /// network.Release. The VM is stopped before its disk goes away. Until the VM is stopped, a
    /// failure (e.g. a full disk while writing the state) lets the guest run on and removes the
    /// partial snapshot: the sandbox stays Running, never half-paused.
    /// </summary>
    public async Task<PausedSandboxVm> PauseAsync(SandboxVm sandbox, CancellationToken cancellationToken)
    {
        var timings = new Stopwatch();
        var steps = new List<string>();
        void Step(string name)
        {
            steps.Add($"{name} {timings.ElapsedMilliseconds} ms");
            timings.Restart();
        }

        timings.Start();
        var snapshotDir = SnapshotDirFor(sandbox.SandboxId);
        SnapshotFiles snapshot;
        try
        {
            await vmm.PauseAsync(sandbox.Vm, cancellationToken);
            Step("pause");
            Directory.CreateDirectory(snapshotDir);
            // A VM restored through a page server re-pauses as a diff: only the pages it dirtied since,
            // which the memory plugin adds to its chain of generations. Everything else is a full snapshot.
            var kind = sandbox.Memory?.Kind == Wrenn.Abstractions.Memory.MemoryBackingKind.Uffd && vmm.Capabilities.DiffSnapshots
                ? SnapshotKind.Diff
                : SnapshotKind.Full;
            snapshot = await vmm.SnapshotAsync(sandbox.Vm, new SnapshotRequest(snapshotDir, kind), cancellationToken);
            if (sandbox.Memory is { } ram && memory is not null)
                snapshot = await memory.CompleteSnapshotAsync(ram, snapshot, cancellationToken);
            Step("snapshot");
            // A pause is to disk: the guest's dirty pages and the state reach the disk before the VM
            // goes, so a paused sandbox survives a host crash. This is where pause cost follows the
            // memory the guest dirtied.
            await FlushToDiskAsync([snapshot.StateFile, .. snapshot.MemoryFiles], cancellationToken);
            Step("flush");
        }
        catch (Exception e)
        {
            LogPauseFailed(sandbox.SandboxId, e.Message);
            await RemoveWorkDir(snapshotDir);
            await vmm.ResumeAsync(sandbox.Vm, CancellationToken.None);
            throw;
        }

        // From here on the snapshot is complete: the rest only frees host resources.
        await vmm.StopAsync(sandbox.Vm, cancellationToken);
        Step("stop");
        await storage.DetachAsync(sandbox.Disk, cancellationToken);
        await network.ReleaseAsync(sandbox.Network, cancellationToken);
        await RemoveWorkDir(sandbox.WorkDir);
        Step("release");
        LogPaused(sandbox.SandboxId, string.Join(", ", steps));
        return new PausedSandboxVm(sandbox.SandboxId, sandbox.Disk with { Attached = false }, snapshot);
    }

    private static async Task FlushToDiskAsync(IEnumerable<string> files, CancellationToken cancellationToken)
    {
        foreach (var path in files)
        {
            await using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            await Task.Run(() => file.Flush(flushToDisk: true), cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId} paused ({Timings})")]
    private partial void LogPaused(string sandboxId, string timings);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pausing {SandboxId} failed ({Reason}); it keeps running")]
    private partial void LogPauseFailed(string sandboxId, string reason);
}
