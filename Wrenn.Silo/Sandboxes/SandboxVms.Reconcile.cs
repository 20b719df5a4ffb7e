using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Wrenn.Silo.Sandboxes;

public sealed partial class SandboxVms
{
    /// <summary>
    /// Completes with the reason when the VM's memory backing dies under it (a page server), or
    /// null when its memory plugin has nothing that can die (memory in a file or the VMM's own).
    /// </summary>
    public Task<string>? WatchMemory(SandboxVm sandbox, CancellationToken cancellationToken) =>
        memory is Wrenn.Abstractions.Memory.IMemoryWatch watch && sandbox.Memory is { } backing ? watch.WhenFailedAsync(backing, cancellationToken) : null;

    /// <summary>Whether a recorded VM still runs (after a silo restart: VMs outlive their silo).</summary>
    public async Task<bool> IsAliveAsync(SandboxVm sandbox, CancellationToken cancellationToken) =>
        await vmm.AdoptAsync(sandbox.Vm, cancellationToken) is not null;

    /// <summary>
    /// Removes this silo's host objects (VMM processes, network slots, disks, work folders: only
    /// those carrying its owner prefix) that belong to no sandbox in <paramref name="keep"/>.
    /// Returns a line per object removed.
    /// </summary>
    public async Task<IReadOnlyList<string>> RemoveOrphansAsync(Func<string, bool> keep, CancellationToken cancellationToken)
    {
        var removed = new List<string>();
        foreach (var vm in await vmm.DiscoverAsync(host.OwnerPrefix, cancellationToken))
        {
            if (keep(vm.SandboxId))
                continue;
            try
            {
                using var process = Process.GetProcessById(vm.Pid);
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(cancellationToken);
            }
            catch (ArgumentException)
            {
                // Gone already.
            }
            removed.Add($"VMM process {vm.Pid} of {vm.SandboxId}");
        }
        foreach (var slot in await network.DiscoverAsync(host.OwnerPrefix, cancellationToken))
        {
            if (slot.SandboxId.Length > 0 && keep(slot.SandboxId))
                continue;
            await network.ReleaseAsync(slot, cancellationToken);
            removed.Add($"network slot {slot.Index} ({slot.Namespace}) of {(slot.SandboxId.Length > 0 ? slot.SandboxId : "no sandbox")}");
        }
        foreach (var disk in await storage.DiscoverAsync(host.OwnerPrefix, cancellationToken))
        {
            if (keep(disk.SandboxId))
                continue;
            await storage.ReleaseAsync(disk, cancellationToken);
            removed.Add($"disk {disk.Path} of {disk.SandboxId}");
        }
        foreach (var folder in new[] { Path.Combine(host.RuntimeDir, "vms"), Path.Combine(host.DataDir, "snapshots") })
        {
            if (!Directory.Exists(folder))
                continue;
            foreach (var dir in Directory.EnumerateDirectories(folder))
            {
                if (keep(Path.GetFileName(dir)))
                    continue;
                await RemoveWorkDir(dir);
                removed.Add($"folder {dir}");
            }
        }
        foreach (var line in removed)
            LogOrphanRemoved(line);
        return removed;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Removed an orphan that no sandbox record claims: {What}")]
    private partial void LogOrphanRemoved(string what);
}
