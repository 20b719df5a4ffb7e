using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Wrenn.Abstractions.Vmm;

namespace Wrenn.Silo.Sandboxes;

public sealed partial class SandboxVms
{
    /// <summary>
    /// vmm.Pause → vmm.Snapshot → memory.CompleteSnapshot → flush → (committed) → vmm.Stop →
    /// storage.Detach → network.Release. The VM is stopped before its disk goes away. Until the
    /// snapshot is complete on disk, a failure (e.g. a full disk while writing the state) lets the
    /// guest run on and removes the partial snapshot: the sandbox stays Running, never half-paused.
    /// Once it is, <paramref name="committed"/> records it (a crash after that point is finished by
    /// <see cref="FinishPauseAsync"/> on the next start), and the rest only frees host resources.
    /// </summary>
    public async Task<PausedSandboxVm> PauseAsync(SandboxVm sandbox, CancellationToken cancellationToken, Func<PausedSandboxVm, Task>? committed = null)
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
        var agentFacts = await AgentFactsAsync(sandbox, cancellationToken);
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
            snapshot = snapshot with { Properties = new Dictionary<string, string>(snapshot.Properties.Concat(agentFacts)) };
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
        var paused = new PausedSandboxVm(sandbox.SandboxId, sandbox.Disk, snapshot);
        if (committed is not null)
            await committed(paused);
        paused = await FinishPauseAsync(sandbox, paused, cancellationToken);
        Step("stop and release");
        LogPaused(sandbox.SandboxId, string.Join(", ", steps));
        return paused;
    }

    /// <summary>
    /// The end of a pause whose snapshot is complete: the VM stops (if it still runs), its disk is
    /// detached, its network slot and work folder go. Also what a silo that crashed right after the
    /// snapshot runs on its next start.
    /// </summary>
    public async Task<PausedSandboxVm> FinishPauseAsync(SandboxVm sandbox, PausedSandboxVm paused, CancellationToken cancellationToken)
    {
        if (await vmm.AdoptAsync(sandbox.Vm, cancellationToken) is { } running)
            await vmm.StopAsync(running, cancellationToken);
        if (paused.Disk.Attached)
            await storage.DetachAsync(paused.Disk, cancellationToken);
        await network.ReleaseAsync(sandbox.Network, cancellationToken);
        await RemoveWorkDir(sandbox.WorkDir);
        return paused with { Disk = paused.Disk with { Attached = false } };
    }

    /// <summary>
    /// The agent the snapshot will hold (it is frozen with the guest's memory): its protocol
    /// version and build, recorded with the snapshot so a later Wrenn knows what it restores.
    /// </summary>
    private static async Task<Dictionary<string, string>> AgentFactsAsync(SandboxVm sandbox, CancellationToken cancellationToken)
    {
        try
        {
            using var agent = sandbox.Agent();
            var health = await agent.HealthAsync(cancellationToken, timeout: TimeSpan.FromSeconds(5));
            return new() { ["agentProtocol"] = health.ProtocolVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), ["agentVersion"] = health.Version };
        }
        catch (Wrenn.Guest.Protocol.AgentException)
        {
            return new() { ["agentProtocol"] = "unknown" };
        }
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
