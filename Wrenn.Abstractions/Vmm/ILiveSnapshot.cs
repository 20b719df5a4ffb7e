using Wrenn.Abstractions.Storage;

namespace Wrenn.Abstractions.Vmm;

/// <summary>
/// Optional (since 1.3), for VMMs that can snapshot a running VM and let it run on in the same
/// process (a fork: the source keeps its connections). The silo takes the snapshot with
/// <see cref="SnapshotRunningAsync"/> (the VM is stopped only for its end), copies what the memory
/// plugin needs, moves the disk onto a fresh layer (<see cref="SwitchDiskAsync"/>, with
/// <see cref="ILiveDiskSnapshot"/>) and lets the VM run again (<see cref="IVmm.ResumeAsync"/>), all
/// in the one process.
/// </summary>
public interface ILiveSnapshot
{
    /// <summary>
    /// Writes a full snapshot of a running VM into <paramref name="request"/>'s folder: the VM runs
    /// while the VMM copies what it can and is stopped only for the rest (device state, memory written
    /// meanwhile). Returns with the VM paused, to be resumed with <see cref="IVmm.ResumeAsync"/>; on a
    /// failure the VM runs on (or is paused, if it was).
    /// </summary>
    Task<LiveSnapshot> SnapshotRunningAsync(VmHandle vm, SnapshotRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Moves a paused VM's root disk onto <paramref name="overlay"/>: from now on its writes go there,
    /// and the image it wrote until now (the overlay's backing, which the VM keeps open) is never
    /// written again. The VM stays paused.
    /// </summary>
    /// <exception cref="VmmException">The VMM refused; the VM still writes to its old image.</exception>
    Task SwitchDiskAsync(VmHandle vm, PreparedDisk overlay, CancellationToken cancellationToken);
}

/// <summary>A snapshot of a running VM, which is paused now.</summary>
/// <param name="Files">The snapshot, as <see cref="IVmm.SnapshotAsync"/> writes it.</param>
/// <param name="StoppedFor">How long the VM has been stopped when the call returns.</param>
public sealed record LiveSnapshot(SnapshotFiles Files, TimeSpan StoppedFor);
