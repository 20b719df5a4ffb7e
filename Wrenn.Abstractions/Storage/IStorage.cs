namespace Wrenn.Abstractions.Storage;

/// <summary>
/// Root disks for sandboxes: a copy-on-write disk per sandbox over a shared, read-only base, so
/// that no sandbox copies the base image. Disks outlive the VM that uses them (a paused sandbox
/// keeps its disk, detached); <see cref="ReleaseAsync"/> deletes one.
/// </summary>
public interface IStorage
{
    /// <summary>The plugin's name (<c>qcow2</c>, <c>devicemapper</c>).</summary>
    string Name { get; }

    /// <summary>Creates the sandbox's CoW disk over <paramref name="baseImage"/> and attaches it.</summary>
    Task<PreparedDisk> PrepareAsync(string sandboxId, BaseImage baseImage, CancellationToken cancellationToken);

    /// <summary>Makes an existing (detached) disk usable by a VM again, e.g. for a resume.</summary>
    Task<PreparedDisk> AttachAsync(PreparedDisk disk, CancellationToken cancellationToken);

    /// <summary>Releases host objects (loop devices, dm targets) but keeps the disk's data. The VM must be stopped.</summary>
    Task DetachAsync(PreparedDisk disk, CancellationToken cancellationToken);

    /// <summary>
    /// Freezes the disk's current content into a new base image that no longer changes with the
    /// sandbox, which goes on writing to a fresh layer. Used to make templates.
    /// </summary>
    Task<BaseImage> FreezeAsync(PreparedDisk disk, string destinationDirectory, CancellationToken cancellationToken);

    /// <summary>Detaches (if attached) and deletes the sandbox's disk. Idempotent.</summary>
    Task ReleaseAsync(PreparedDisk disk, CancellationToken cancellationToken);

    /// <summary>Deletes a frozen base image made by <see cref="FreezeAsync"/> once nothing uses it.</summary>
    Task DeleteBaseAsync(BaseImage image, CancellationToken cancellationToken);

    /// <summary>Lists the disks on the host that carry <paramref name="ownerPrefix"/> (for the reconciler).</summary>
    Task<IReadOnlyList<PreparedDisk>> DiscoverAsync(string ownerPrefix, CancellationToken cancellationToken);

    /// <summary>Bytes actually allocated on the host for this disk (not its apparent size).</summary>
    Task<long> AllocatedBytesAsync(PreparedDisk disk, CancellationToken cancellationToken);
}

/// <summary>A read-only image that sandbox disks are layered over.</summary>
/// <param name="Id">Stable id (a template id, or <c>base-{hash}</c> for a built image).</param>
/// <param name="Path">The image file (raw ext4, or the top of a frozen chain).</param>
/// <param name="Format"><c>raw</c> or <c>qcow2</c>.</param>
/// <param name="SizeBytes">The guest-visible size.</param>
public sealed record BaseImage(string Id, string Path, string Format, long SizeBytes);

/// <summary>A sandbox's disk as a VMM sees it.</summary>
/// <param name="SandboxId">Its sandbox.</param>
/// <param name="Path">What the VMM opens: a file or a block device.</param>
/// <param name="Format"><c>raw</c> or <c>qcow2</c>; the VMM must support it.</param>
/// <param name="Attached">Whether host objects for it exist now.</param>
/// <param name="Properties">The plugin's own facts (CoW file, loop device, base id …).</param>
public sealed record PreparedDisk(
    string SandboxId,
    string Path,
    string Format,
    bool Attached,
    IReadOnlyDictionary<string, string> Properties);
