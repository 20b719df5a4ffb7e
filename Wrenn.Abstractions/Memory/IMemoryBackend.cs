using Wrenn.Abstractions.Vmm;

namespace Wrenn.Abstractions.Memory;

/// <summary>How guest RAM is provided to a VMM.</summary>
public enum MemoryBackingKind
{
    /// <summary>Anonymous memory owned by the VMM process.</summary>
    Anonymous,

    /// <summary>A file mapped as guest RAM (shared: writes reach the file; private: copy-on-write over it).</summary>
    File,

    /// <summary>Pages served on demand by a userfaultfd handler.</summary>
    Uffd,
}

/// <summary>
/// Decides where guest RAM lives and how a snapshot's memory comes back: a file mapping for
/// QEMU, a userfaultfd page server for Firecracker.
/// </summary>
public interface IMemoryBackend
{
    /// <summary>The plugin's name (<c>file</c>, <c>uffd</c>).</summary>
    string Name { get; }

    /// <summary>The backing for a freshly booted VM of <paramref name="memoryMib"/> MiB.</summary>
    Task<MemoryBacking> PrepareBootAsync(string sandboxId, int memoryMib, string workDir, CancellationToken cancellationToken);

    /// <summary>The backing for a VM restored from <paramref name="snapshot"/> (a resume or a template child).</summary>
    Task<MemoryBacking> PrepareRestoreAsync(string sandboxId, SnapshotFiles snapshot, string workDir, CancellationToken cancellationToken);

    /// <summary>
    /// Turns what a VMM wrote for a snapshot into durable snapshot files (e.g. moves the RAM file
    /// next to the device state, or writes a diff generation and its header).
    /// </summary>
    Task<SnapshotFiles> CompleteSnapshotAsync(MemoryBacking backing, SnapshotFiles written, CancellationToken cancellationToken);

    /// <summary>Frees what the backing holds (files in the work folder, page-server processes). Idempotent.</summary>
    Task ReleaseAsync(MemoryBacking backing, CancellationToken cancellationToken);
}

/// <summary>Guest RAM for one VM.</summary>
/// <param name="Kind">How it is provided.</param>
/// <param name="Path">The RAM file (File) or the page server's socket (Uffd).</param>
/// <param name="Shared">For File: whether the mapping is shared (writes reach the file) or private (copy-on-write).</param>
/// <param name="Properties">The plugin's own facts.</param>
public sealed record MemoryBacking(
    MemoryBackingKind Kind,
    string? Path,
    bool Shared,
    IReadOnlyDictionary<string, string> Properties);
