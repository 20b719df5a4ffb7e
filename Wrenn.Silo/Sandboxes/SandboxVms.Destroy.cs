using Microsoft.Extensions.Logging;

namespace Wrenn.Silo.Sandboxes;

public sealed partial class SandboxVms
{
    /// <summary>
    /// vmm.Stop → storage.Release → network.Release → remove the work folder. The VM stops before
    /// its disk goes away. Every step runs even if an earlier one failed; the first failure is
    /// rethrown afterwards (the reconciler removes what is left).
    /// </summary>
    public async Task DestroyAsync(SandboxVm sandbox, CancellationToken cancellationToken)
    {
        var failures = new List<Exception>();
        async Task Step(Func<Task> step)
        {
            try
            {
                await step();
            }
            catch (Exception e)
            {
                failures.Add(e);
            }
        }

        await Step(() => vmm.StopAsync(sandbox.Vm, cancellationToken));
        await Step(() => storage.ReleaseAsync(sandbox.Disk, cancellationToken));
        await Step(() => network.ReleaseAsync(sandbox.Network, cancellationToken));
        if (sandbox.Memory is { } ram && memory is not null)
            await Step(() => memory.ReleaseAsync(ram, cancellationToken));
        await Step(() => RemoveWorkDir(sandbox.WorkDir));
        await Step(() => RemoveWorkDir(SnapshotDirFor(sandbox.SandboxId)));
        LogDestroyed(sandbox.SandboxId, failures.Count);
        if (failures.Count > 0)
            throw new AggregateException($"Destroying {sandbox.SandboxId} left something behind; the reconciler will remove it.", failures);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId} destroyed ({Failures} step(s) failed)")]
    private partial void LogDestroyed(string sandboxId, int failures);
}

public sealed partial class SandboxVms
{
    /// <summary>Destroys a paused sandbox: its disk and its snapshot files (memory included) go.</summary>
    public async Task DestroyPausedAsync(PausedSandboxVm paused, CancellationToken cancellationToken)
    {
        await storage.ReleaseAsync(paused.Disk, cancellationToken);
        // A snapshot's memory file is the sandbox's own unless it maps a template's file privately.
        if (!(paused.Snapshot.Properties.TryGetValue("memoryShared", out var shared) && shared == "false"))
        {
            foreach (var file in paused.Snapshot.MemoryFiles)
                File.Delete(file);
        }
        await RemoveWorkDir(paused.Snapshot.Directory);
        LogDestroyed(paused.SandboxId, 0);
    }
}
