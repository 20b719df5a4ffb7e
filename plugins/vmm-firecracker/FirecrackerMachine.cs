using System.Text.Json.Nodes;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Vmm;

namespace Wrenn.Plugins.Vmm.Firecracker;

/// <summary>
/// The API calls of a VM's life, in the order Firecracker wants them: configure and start a boot,
/// pause and resume, snapshot (full or diff), and load a snapshot with a File or Uffd memory backend.
/// </summary>
public sealed class FirecrackerMachine(FirecrackerApiClient api)
{
    /// <summary>Pre-boot configuration, then InstanceStart. Dirty-page tracking is on so that diff snapshots work.</summary>
    public async Task BootAsync(VmSpec spec, CancellationToken cancellationToken)
    {
        await api.PutAsync("/machine-config", new JsonObject
        {
            ["vcpu_count"] = spec.Vcpus,
            ["mem_size_mib"] = spec.MemoryMib,
            ["track_dirty_pages"] = true,
        }, cancellationToken);
        var boot = new JsonObject
        {
            ["kernel_image_path"] = spec.Kernel.UncompressedKernelPath
                ?? throw new VmmException("Firecracker boots an uncompressed kernel (vmlinux); the image has none: rebuild it with scripts/setup."),
            ["boot_args"] = string.Join(' ', ["console=ttyS0", "reboot=k", "panic=1", .. spec.KernelArgs]),
        };
        if (spec.Kernel.InitrdPath is { } initrd)
            boot["initrd_path"] = initrd;
        await api.PutAsync("/boot-source", boot, cancellationToken);
        await api.PutAsync("/drives/rootfs", new JsonObject
        {
            ["drive_id"] = "rootfs",
            ["path_on_host"] = spec.RootDisk.Path,
            ["is_root_device"] = true,
            ["is_read_only"] = false,
        }, cancellationToken);
        await api.PutAsync("/network-interfaces/eth0", NetworkInterface(spec), cancellationToken);
        await api.PutAsync("/actions", new JsonObject { ["action_type"] = "InstanceStart" }, cancellationToken);
    }

    public Task PauseAsync(CancellationToken cancellationToken) =>
        api.PatchAsync("/vm", new JsonObject { ["state"] = "Paused" }, cancellationToken);

    public Task ResumeAsync(CancellationToken cancellationToken) =>
        api.PatchAsync("/vm", new JsonObject { ["state"] = "Resumed" }, cancellationToken);

    /// <summary>A snapshot of a paused VM: the device state and the memory (all of it, or the pages dirtied since the last one).</summary>
    public Task SnapshotAsync(string statePath, string memoryPath, SnapshotKind kind, CancellationToken cancellationToken) =>
        api.PutAsync("/snapshot/create", new JsonObject
        {
            ["snapshot_type"] = kind == SnapshotKind.Diff ? "Diff" : "Full",
            ["snapshot_path"] = statePath,
            ["mem_file_path"] = memoryPath,
        }, cancellationToken);

    /// <summary>
    /// Loads a snapshot into a fresh Firecracker and resumes it. Memory comes from a file, or from a
    /// userfaultfd page server listening at the backing's path. Dirty-page tracking is on again, so
    /// that the next pause can write a diff.
    /// </summary>
    public Task LoadAsync(string statePath, MemoryBacking memory, CancellationToken cancellationToken) =>
        api.PutAsync("/snapshot/load", new JsonObject
        {
            ["snapshot_path"] = statePath,
            ["mem_backend"] = new JsonObject
            {
                ["backend_type"] = memory.Kind == MemoryBackingKind.Uffd ? "Uffd" : "File",
                ["backend_path"] = memory.Path ?? throw new VmmException("A snapshot load needs the memory file or the page server's socket."),
            },
            ["track_dirty_pages"] = true,
            ["resume_vm"] = true,
        }, cancellationToken);

    private static JsonObject NetworkInterface(VmSpec spec) => new()
    {
        ["iface_id"] = "eth0",
        ["host_dev_name"] = spec.Network.TapDevice,
        ["guest_mac"] = spec.Network.Guest.MacAddress,
    };
}
