using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Network;
using Wrenn.Abstractions.Vmm;

namespace Wrenn.Silo.Sandboxes;

public sealed partial class SandboxVms
{
    /// <summary>
    /// network.Allocate (with <paramref name="egress"/> in force), storage.Attach and memory.PrepareRestore at once → vmm.Restore → (restored, while
    /// waiting) for the agent → RNG reseeded, clock set. The guest comes back with its processes and files as
    /// they were; the silo talks to it over fresh connections. <paramref name="restored"/> records
    /// the running VM the moment it exists (a silo that crashes later re-adopts it). A failure undoes
    /// what was acquired and leaves the sandbox paused.
    /// </summary>
    public async Task<SandboxVm> ResumeAsync(PausedSandboxVm paused, GuestImage image, CancellationToken cancellationToken, Func<SandboxVm, Task>? restored = null,
        EgressPolicy? egress = null)
    {
        var undo = new UndoStack(logger);
        var timings = Stopwatch.StartNew();
        var steps = new List<string>();
        void Step(string name)
        {
            steps.Add($"{name} {timings.ElapsedMilliseconds} ms");
            timings.Restart();
        }

        try
        {
            var sandboxId = paused.SandboxId;
            // Network, disk and memory do not depend on each other: they are prepared at once.
            var workDir = WorkDirFor(sandboxId);
            Directory.CreateDirectory(workDir);
            undo.Push("remove the work folder", () => RemoveWorkDir(workDir));
            var slotReady = undo.AcquireAsync("release the network slot", () => AllocateSlotAsync(sandboxId, egress, cancellationToken),
                slot => network.ReleaseAsync(slot, CancellationToken.None));
            var diskReady = undo.AcquireAsync("detach the disk", () => storage.AttachAsync(paused.Disk, cancellationToken),
                disk => storage.DetachAsync(disk, CancellationToken.None));
            var ramReady = memory is null
                ? Task.FromResult<MemoryBacking?>(null)
                : memory.PrepareRestoreAsync(sandboxId, paused.Snapshot, workDir, cancellationToken);
            await Task.WhenAll(slotReady, diskReady, ramReady);
            var (slot, disk, ram) = (slotReady.Result, diskReady.Result, ramReady.Result);
            Step("prepare");

            var spec = new VmSpec(sandboxId, paused.Snapshot.Vcpus, paused.Snapshot.MemoryMib, image.Kernel, disk, slot, ram, KernelArgsFor(slot), workDir);
            var vm = await vmm.RestoreAsync(spec, paused.Snapshot, cancellationToken);
            undo.Push("stop the VM", () => vmm.StopAsync(vm, CancellationToken.None));
            Step("restore");

            var resumed = new SandboxVm(sandboxId, vm, disk, slot, workDir, ram);
            // The running VM is recorded while the guest wakes (a database write needs no turn of its own);
            // both have ended before anything goes on or is undone.
            var recorded = restored is null ? Task.CompletedTask : restored(resumed);
            await Task.WhenAll(recorded, WakeAsync());
            async Task WakeAsync()
            {
                using var agent = resumed.Agent();
                var health = await WaitForAgentAsync(agent, vm, resumed.Network.HostAddress, cancellationToken);
                Step("agent");
                await SettleGuestAsync(sandboxId, agent, restored: true, cancellationToken, health);
                Step("clock and rng");
            }
            undo.Commit();
            // The state file is spent; the memory file now backs the running VM again.
            File.Delete(paused.Snapshot.StateFile);
            LogResumed(sandboxId, string.Join(", ", steps));
            return resumed;
        }
        catch
        {
            await undo.UndoAllAsync();
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId} resumed ({Timings})")]
    private partial void LogResumed(string sandboxId, string timings);
}
