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

    /// <summary>
    /// After a silo restart (VMs outlive their silo): whether the recorded VM still runs, and if
    /// so, that its guest runs too: a silo that died in the middle of a pause may have stopped the
    /// vCPUs before the snapshot was complete, and nothing else would start them again.
    /// </summary>
    public async Task<bool> AdoptAsync(SandboxVm sandbox, CancellationToken cancellationToken)
    {
        if (await vmm.AdoptAsync(sandbox.Vm, cancellationToken) is not { } vm)
            return false;
        await vmm.ResumeAsync(vm, cancellationToken);
        return true;
    }

    /// <summary>Whether a recorded VM still runs.</summary>
    public async Task<bool> IsAliveAsync(SandboxVm sandbox, CancellationToken cancellationToken) =>
        await vmm.AdoptAsync(sandbox.Vm, cancellationToken) is not null;

    /// <summary>Removes this silo's host objects that belong to no sandbox in <paramref name="keep"/> (see the overload).</summary>
    public Task<IReadOnlyList<string>> RemoveOrphansAsync(Func<string, bool> keep, CancellationToken cancellationToken) =>
        RemoveOrphansAsync(keep, keep, cancellationToken);

    /// <summary>
    /// Removes this silo's host objects (only those carrying its owner prefix) that no sandbox
    /// claims: VMM processes, jails (their cgroups and uids), network slots and work folders of sandboxes not <paramref name="running"/>
    /// (a paused sandbox has none), disks, snapshots and memory files of sandboxes neither running
    /// nor paused (<paramref name="keepFiles"/>). Returns a line per object removed.
    /// </summary>
    public async Task<IReadOnlyList<string>> RemoveOrphansAsync(Func<string, bool> running, Func<string, bool> keepFiles, CancellationToken cancellationToken)
    {
        var removed = new List<string>();
        foreach (var vm in await vmm.DiscoverAsync(host.OwnerPrefix, cancellationToken))
        {
            if (running(vm.SandboxId))
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
        // A jail lives as long as its VM: everything in its cgroup ends, its uid is freed.
        removed.AddRange(await Wrenn.Plugins.Jail.Jails.ReleaseOrphansAsync(host.MachineRuntimeDir, host.OwnerPrefix, running, logger, cancellationToken));
        foreach (var slot in await network.DiscoverAsync(host.OwnerPrefix, cancellationToken))
        {
            if (slot.SandboxId.Length > 0 && running(slot.SandboxId))
                continue;
            await network.ReleaseAsync(slot, cancellationToken);
            removed.Add($"network slot {slot.Index} ({slot.Namespace}) of {(slot.SandboxId.Length > 0 ? slot.SandboxId : "no sandbox")}");
        }
        foreach (var disk in await storage.DiscoverAsync(host.OwnerPrefix, cancellationToken))
        {
            if (keepFiles(disk.SandboxId))
                continue;
            await storage.ReleaseAsync(disk, cancellationToken);
            removed.Add($"disk {disk.Path} of {disk.SandboxId}");
        }
        if (memory is Wrenn.Abstractions.Memory.IMemoryDiscovery discovery)
        {
            foreach (var ram in await discovery.DiscoverAsync(host.OwnerPrefix, cancellationToken))
            {
                if (keepFiles(ram.SandboxId))
                    continue;
                await memory.ReleaseAsync(ram.Backing, cancellationToken);
                removed.Add($"memory {ram.Backing.Path} of {ram.SandboxId}");
            }
        }
        foreach (var (folder, keep) in new[] { (Path.Combine(host.RuntimeDir, "vms"), running), (Path.Combine(host.DataDir, "snapshots"), keepFiles) })
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
