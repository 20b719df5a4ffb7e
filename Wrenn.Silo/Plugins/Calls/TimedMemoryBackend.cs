using Wrenn.Abstractions.Memory;
using Wrenn.Abstractions.Vmm;

namespace Wrenn.Silo.Plugins.Calls;

/// <summary>Times and logs every call into a memory plugin (see <see cref="PluginCallLog"/>).</summary>
internal class TimedMemoryBackend(IMemoryBackend inner, PluginCallLog log) : IMemoryBackend
{
    /// <summary>The decorator for <paramref name="inner"/>: one that also watches when the plugin can (<see cref="IMemoryWatch"/>), which the silo asks for by type.</summary>
    public static IMemoryBackend For(IMemoryBackend inner, PluginCallLog log) =>
        inner is IMemoryWatch watch ? new TimedWatchedMemoryBackend(inner, watch, log) : new TimedMemoryBackend(inner, log);

    protected PluginCallLog Log => log;

    public string Name => inner.Name;

    public Task<MemoryBacking> PrepareBootAsync(string sandboxId, int memoryMib, string workDir, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(PrepareBootAsync), sandboxId, () => inner.PrepareBootAsync(sandboxId, memoryMib, workDir, cancellationToken), cancellationToken);

    public Task<MemoryBacking> PrepareRestoreAsync(string sandboxId, SnapshotFiles snapshot, string workDir, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(PrepareRestoreAsync), sandboxId, () => inner.PrepareRestoreAsync(sandboxId, snapshot, workDir, cancellationToken), cancellationToken);

    public Task<SnapshotFiles> CompleteSnapshotAsync(MemoryBacking backing, SnapshotFiles written, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(CompleteSnapshotAsync), written.Directory, () => inner.CompleteSnapshotAsync(backing, written, cancellationToken), cancellationToken);

    public Task ReleaseAsync(MemoryBacking backing, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(ReleaseAsync), backing.Path ?? "anonymous memory", () => inner.ReleaseAsync(backing, cancellationToken), cancellationToken);
}

/// <summary>A memory plugin whose backing can die under a guest: its watch is passed through, logged when it fires.</summary>
internal sealed class TimedWatchedMemoryBackend(IMemoryBackend inner, IMemoryWatch watch, PluginCallLog log) : TimedMemoryBackend(inner, log), IMemoryWatch
{
    public Task<string> WhenFailedAsync(MemoryBacking backing, CancellationToken cancellationToken) =>
        Log.TimeAsync(nameof(WhenFailedAsync), backing.Path ?? "anonymous memory", () => watch.WhenFailedAsync(backing, cancellationToken), cancellationToken, watch: true);
}
