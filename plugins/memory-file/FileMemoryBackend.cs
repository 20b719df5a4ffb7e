using Microsoft.Extensions.Logging;
using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Plugins;
using Wrenn.Abstractions.Vmm;

namespace Wrenn.Plugins.Memory.File;

/// <summary>
/// Guest RAM lives in a file of its own sandbox, mapped shared: the guest's writes reach the file
/// through the page cache, so a pause saves only device state (the VMM skips shared RAM with
/// x-ignore-shared) and its cost follows what the guest dirtied, not its size. A resume maps the
/// same file again and the kernel loads each page on first touch, so a resumed guest's resident
/// memory grows with what it uses. See docs/ARCHITECTURE.md ("Memory") for why this mechanism.
/// </summary>
public sealed partial class FileMemoryBackend(PluginHost host, ILogger<FileMemoryBackend> logger) : IMemoryBackend, IMemoryDiscovery
{
    public string Name => "file";

    private string Directory => Path.Combine(host.DataDir, "memory");

    public Task<MemoryBacking> PrepareBootAsync(string sandboxId, int memoryMib, string workDir, CancellationToken cancellationToken)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var path = Path.Combine(Directory, $"{host.OwnerPrefix}-{sandboxId}.ram");
        // Sparse: blocks are allocated as the guest writes them.
        using (var file = new FileStream(path, FileMode.Create, FileAccess.Write))
            file.SetLength((long)memoryMib * 1024 * 1024);
        LogPrepared(sandboxId, path, memoryMib);
        return Task.FromResult(Backing(path));
    }

    public Task<MemoryBacking> PrepareRestoreAsync(string sandboxId, SnapshotFiles snapshot, string workDir, CancellationToken cancellationToken)
    {
        var path = snapshot.MemoryFiles.FirstOrDefault()
            ?? throw new InvalidOperationException($"The snapshot in {snapshot.Directory} holds no memory file; it was not taken with the file memory plugin.");
        if (!System.IO.File.Exists(path))
            throw new FileNotFoundException($"The memory file of {sandboxId}'s snapshot ('{path}') is gone; the sandbox cannot be resumed.", path);
        // A template's memory is mapped private: children share its pages until they write them,
        // and the file itself never changes.
        var shared = !(snapshot.Properties.TryGetValue(SharedProperty, out var value) && value == "false");
        return Task.FromResult(Backing(path, shared));
    }

    /// <summary>
    /// A shared backing's file holds the guest's memory; a private one (a template child) keeps the
    /// template's file as its base and the VMM wrote the child's own pages into the state stream.
    /// </summary>
    public Task<SnapshotFiles> CompleteSnapshotAsync(MemoryBacking backing, SnapshotFiles written, CancellationToken cancellationToken) =>
        Task.FromResult(written with
        {
            MemoryFiles = [backing.Path!],
            Properties = new Dictionary<string, string>(written.Properties) { [SharedProperty] = backing.Shared ? "true" : "false" },
        });

    /// <summary>Deletes a sandbox's own memory file; a private mapping's file is a template's and stays.</summary>
    public Task ReleaseAsync(MemoryBacking backing, CancellationToken cancellationToken)
    {
        if (backing.Shared && backing.Path is { } path)
            System.IO.File.Delete(path);
        return Task.CompletedTask;
    }

    /// <summary>Every sandbox RAM file of the owner (<c>{owner}-{sandbox}.ram</c>); each is the sandbox's own (shared).</summary>
    public Task<IReadOnlyList<DiscoveredMemory>> DiscoverAsync(string ownerPrefix, CancellationToken cancellationToken)
    {
        if (!System.IO.Directory.Exists(Directory))
            return Task.FromResult<IReadOnlyList<DiscoveredMemory>>([]);
        var prefix = $"{ownerPrefix}-";
        IReadOnlyList<DiscoveredMemory> found = System.IO.Directory.EnumerateFiles(Directory, $"{prefix}*.ram")
            .Select(path => new DiscoveredMemory(Path.GetFileNameWithoutExtension(path)[prefix.Length..], Backing(path)))
            .ToList();
        return Task.FromResult(found);
    }

    /// <summary>Snapshot property: whether the memory file belongs to the sandbox (shared) or to a template (private).</summary>
    public const string SharedProperty = "memoryShared";

    private static MemoryBacking Backing(string path, bool shared = true) =>
        new(MemoryBackingKind.File, path, shared, new Dictionary<string, string>());

    [LoggerMessage(Level = LogLevel.Debug, Message = "Memory of {SandboxId}: {MemoryMib} MiB in {Path}")]
    private partial void LogPrepared(string sandboxId, string path, int memoryMib);
}
