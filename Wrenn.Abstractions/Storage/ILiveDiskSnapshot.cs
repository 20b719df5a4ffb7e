namespace Wrenn.Abstractions.Storage;

/// <summary>
/// Optional (since 1.3), for storage whose disks can be frozen while a VM still has them open (a
/// fork of a running sandbox, with <see cref="Vmm.ILiveSnapshot"/>): the disk's current top layer
/// becomes a read-only image in a folder of the silo's choosing, and a fresh, empty layer over it
/// takes the disk's place. Nothing is copied, whatever the sandbox wrote.
/// </summary>
public interface ILiveDiskSnapshot
{
    /// <summary>
    /// While the VM that uses <paramref name="disk"/> is paused: its top layer moves into
    /// <paramref name="destinationDirectory"/> and becomes read-only (the VM keeps it open), and a
    /// fresh layer over it is made at the disk's path, for the VM to switch to.
    /// </summary>
    Task<LiveDiskFreeze> FreezeLiveAsync(PreparedDisk disk, string destinationDirectory, CancellationToken cancellationToken);

    /// <summary>The VM did not switch to the fresh layer: it is removed and the frozen one is the disk's top layer again, as it was.</summary>
    Task UndoFreezeLiveAsync(LiveDiskFreeze freeze, CancellationToken cancellationToken);

    /// <summary>The images under <paramref name="imagePath"/> (its backing chain, the nearest first): what it needs kept.</summary>
    Task<IReadOnlyList<string>> LayersAsync(string imagePath, CancellationToken cancellationToken);
}

/// <summary>A disk frozen while in use.</summary>
/// <param name="Frozen">The read-only image its content until now became (children layer their disks over it).</param>
/// <param name="Disk">The disk as it is now: a fresh layer over <paramref name="Frozen"/> at the same path.</param>
/// <param name="Previous">The disk as it was, for the undo.</param>
/// <param name="Properties">The plugin's own facts for the undo (e.g. the top layer's owner before it was frozen).</param>
public sealed record LiveDiskFreeze(BaseImage Frozen, PreparedDisk Disk, PreparedDisk Previous, IReadOnlyDictionary<string, string> Properties);
