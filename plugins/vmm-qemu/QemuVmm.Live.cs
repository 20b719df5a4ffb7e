using System.Text.Json.Nodes;
using Wrenn.Abstractions.Storage;
using Wrenn.Abstractions.Vmm;

namespace Wrenn.Plugins.Vmm.Qemu;

/// <summary>
/// Forks of a running VM: after <see cref="QemuVmm.SnapshotAsync"/> (a completed migration, which QEMU
/// lets <c>cont</c> take back), the root disk moves onto a fresh overlay with <c>blockdev-snapshot</c>.
/// The overlay comes as a descriptor (<c>add-fd</c>, opened through <c>/dev/fdset/N</c>): a jailed
/// QEMU sees only the files of its start, and its disk's path there still names the old layer.
/// </summary>
public sealed partial class QemuVmm : ILiveSnapshot
{
    /// <summary>Bytes a second a live snapshot may write (QEMU's default is 32 MiB/s, meant for networks).</summary>
    private const long LiveBandwidth = 16L * 1024 * 1024 * 1024;

    /// <summary>
    /// QEMU's live migration into the state file: the guest runs while its private RAM is copied, and
    /// QEMU stops it for the end; with RAM in a shared file (x-ignore-shared) only the devices are left,
    /// so it stops at once. After the migration completes the VM is paused and <c>cont</c> lets it run on.
    /// </summary>
    public async Task<LiveSnapshot> SnapshotRunningAsync(VmHandle vm, SnapshotRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await WriteSnapshotAsync(vm, request, live: true, cancellationToken);
        }
        catch
        {
            // A migration that failed or was cancelled leaves the guest running, or paused if it got to the end: it runs on.
            await ResumeAsync(vm, CancellationToken.None);
            throw;
        }
    }

    public async Task SwitchDiskAsync(VmHandle vm, PreparedDisk overlay, CancellationToken cancellationToken)
    {
        if (overlay.Format != "qcow2")
            throw new VmmException($"QEMU switches a running disk only onto a qcow2 overlay (got '{overlay.Format}').");
        var node = $"w{Guid.NewGuid():N}"[..24];
        var fdset = Random.Shared.Next(1_000, 1_000_000);
        await using var qmp = await ConnectAsync(vm, cancellationToken);
        await using (var file = new FileStream(overlay.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite))
            await qmp.ExecuteAsync("add-fd", new JsonObject { ["fdset-id"] = fdset }, file.SafeFileHandle, cancellationToken);
        try
        {
            // backing: null, as blockdev-snapshot wants: the running disk becomes its backing.
            await qmp.ExecuteAsync("blockdev-add", new JsonObject
            {
                ["driver"] = "qcow2",
                ["node-name"] = node,
                ["file"] = new JsonObject { ["driver"] = "file", ["filename"] = $"/dev/fdset/{fdset}" },
                ["backing"] = null,
            }, cancellationToken);
            try
            {
                await qmp.ExecuteAsync("blockdev-snapshot", new JsonObject { ["node"] = "root", ["overlay"] = node }, cancellationToken);
            }
            catch
            {
                await qmp.ExecuteAsync("blockdev-del", new JsonObject { ["node-name"] = node }, CancellationToken.None);
                throw;
            }
        }
        catch (QmpException e)
        {
            await qmp.ExecuteAsync("remove-fd", new JsonObject { ["fdset-id"] = fdset }, CancellationToken.None);
            throw new VmmException($"QEMU of {vm.SandboxId} could not move its disk onto {overlay.Path}: {e.Message}");
        }
    }
}
