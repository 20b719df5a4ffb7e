using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Storage;
using Wrenn.Abstractions.Vmm;

namespace Wrenn.Silo.Sandboxes;

/// <summary>The frozen state of a fork (what its children restore from, in its folder) and the source as it runs on.</summary>
/// <param name="Stopped">How long the source's vCPUs were stopped for it.</param>
public sealed record ForkSnapshot(TemplateSnapshot Frozen, SandboxVm Source, TimeSpan Stopped);

/// <summary>This host's plugins cannot fork a running sandbox (the VMM or storage lacks a live snapshot, or guest RAM is not in a file).</summary>
public sealed class ForkUnsupportedException(string message) : Exception(message);

public sealed partial class SandboxVms
{
    /// <summary>Where forks keep their frozen state (device state, memory copy, frozen disk), a folder each.</summary>
    public string ForkRoot => Path.Combine(host.DataDir, "forks");

    /// <summary>Why this host cannot fork a running sandbox, or null when it can.</summary>
    public string? CannotFork =>
        vmm is not ILiveSnapshot ? $"this host's VMM ({vmm.Name}) cannot fork a running sandbox"
        : storage is not ILiveDiskSnapshot ? $"this host's storage ({storage.Name}) cannot freeze a disk in use, which a fork of a running sandbox needs"
        : memory is null ? "this host has no memory plugin (guest RAM in a file), which a fork needs"
        : null;

    /// <summary>The files under a disk (its backing chain), where the storage can tell: what a fork folder's users need kept.</summary>
    public async Task<IReadOnlyList<string>> DiskLayersAsync(string diskPath, CancellationToken cancellationToken) =>
        storage is ILiveDiskSnapshot live ? await live.LayersAsync(diskPath, cancellationToken) : [];

    /// <summary>
    /// Freezes a running sandbox for its children and lets it run on in the same VM process:
    /// vmm.SnapshotRunning (the VMM stops the vCPUs only for the end of it) → a copy of the RAM file
    /// (a sandbox whose RAM is a private mapping has it in the state stream instead) → storage.FreezeLive
    /// (its disk's top layer goes into <paramref name="forkDirectory"/>, a fresh one takes its place) →
    /// vmm.SwitchDisk → vmm.Resume. Until the resume, a failure puts everything back (the frozen layer
    /// returns as the top, the folder goes) and the source runs on as it was. Its TCP connections
    /// stay open: the guest only misses the stop.
    /// </summary>
    public async Task<ForkSnapshot> ForkAsync(SandboxVm sandbox, string forkDirectory, CancellationToken cancellationToken)
    {
        if (CannotFork is { } reason)
            throw new ForkUnsupportedException(reason);
        if (sandbox.Memory is not { Kind: MemoryBackingKind.File, Path: { } ramPath } ram)
            throw new ForkUnsupportedException($"sandbox {sandbox.SandboxId}'s guest RAM is not in a file, which a fork needs");
        var live = (ILiveSnapshot)vmm;
        var liveDisk = (ILiveDiskSnapshot)storage;
        var agentFacts = await AgentFactsAsync(sandbox, cancellationToken);
        var steps = new List<string>();
        Directory.CreateDirectory(forkDirectory);
        LiveDiskFreeze? freeze = null;
        SnapshotFiles snapshot;
        string memoryFile;
        var stopped = new Stopwatch();
        TimeSpan stoppedBefore;
        try
        {
            var snapshotting = Stopwatch.StartNew();
            var written = await live.SnapshotRunningAsync(sandbox.Vm, new SnapshotRequest(forkDirectory, SnapshotKind.Full), cancellationToken);
            // From here the vCPUs are stopped: everything until the resume is the source's stop.
            stopped.Start();
            stoppedBefore = written.StoppedFor;
            steps.Add($"snapshot {snapshotting.ElapsedMilliseconds} ms (stopped for the last {written.StoppedFor.TotalMilliseconds:0} ms)");
            snapshot = written.Files;
            if (ram.Shared)
            {
                // The guest's RAM is the file itself: the children get a copy of it as it is now.
                memoryFile = Path.Combine(forkDirectory, "memory.ram");
                var how = SparseCopy.Copy(ramPath, memoryFile);
                steps.Add($"memory copy ({how}) {stopped.ElapsedMilliseconds} ms");
            }
            else
            {
                // A private mapping (a template's or a fork's child): its RAM went into the state stream,
                // over the file it maps, which its children map too.
                memoryFile = ramPath;
            }
            freeze = await liveDisk.FreezeLiveAsync(sandbox.Disk, forkDirectory, cancellationToken);
            await live.SwitchDiskAsync(sandbox.Vm, freeze.Disk, cancellationToken);
            steps.Add($"disk {stopped.ElapsedMilliseconds} ms");
        }
        catch (Exception e)
        {
            LogForkFailed(sandbox.SandboxId, e.Message);
            if (freeze is not null)
            {
                try
                {
                    await liveDisk.UndoFreezeLiveAsync(freeze, CancellationToken.None);
                }
                catch (Exception undo)
                {
                    UndoLog.UndoFailed(logger, "put the frozen disk back as the source's top layer", undo);
                }
            }
            await RemoveWorkDir(forkDirectory);
            await vmm.ResumeAsync(sandbox.Vm, CancellationToken.None);
            throw;
        }
        await vmm.ResumeAsync(sandbox.Vm, CancellationToken.None);
        var stop = stoppedBefore + stopped.Elapsed;
        LogForkStopped(sandbox.SandboxId, (long)stop.TotalMilliseconds, string.Join(", ", steps));

        // Off the stop: the children read the page cache, but a paused child's resume after a host crash reads the disk.
        await FlushToDiskAsync(ram.Shared ? [snapshot.StateFile, memoryFile] : [snapshot.StateFile], cancellationToken);
        snapshot = snapshot with
        {
            MemoryFiles = [memoryFile],
            Properties = new Dictionary<string, string>(snapshot.Properties.Concat(agentFacts)) { [SharedMemoryProperty] = "false" },
        };
        return new ForkSnapshot(new TemplateSnapshot(forkDirectory, freeze.Frozen, snapshot), sandbox with { Disk = freeze.Disk }, stop);
    }

    /// <summary>Snapshot property of the memory plugin: "false" maps the memory file private (children never change it).</summary>
    private const string SharedMemoryProperty = "memoryShared";

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId} forked: its vCPUs were stopped for {StoppedMilliseconds} ms ({Timings}); it runs on in the same VM")]
    private partial void LogForkStopped(string sandboxId, long stoppedMilliseconds, string timings);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Forking {SandboxId} failed ({Reason}); it runs on as it was")]
    private partial void LogForkFailed(string sandboxId, string reason);
}
