using Wrenn.Abstractions.Storage;

namespace Wrenn.Silo.Plugins.Calls;

/// <summary>Times and logs every call into a storage plugin (see <see cref="PluginCallLog"/>).</summary>
internal class TimedStorage(IStorage inner, PluginCallLog log) : IStorage
{
    /// <summary>The decorator for <paramref name="inner"/>: one that also passes live freezes through when the plugin has them (<see cref="ILiveDiskSnapshot"/>).</summary>
    public static IStorage For(IStorage inner, PluginCallLog log) =>
        inner is ILiveDiskSnapshot live ? new TimedLiveStorage(inner, live, log) : new TimedStorage(inner, log);

    protected PluginCallLog Log => log;

    public string Name => inner.Name;

    public Task<PreparedDisk> PrepareAsync(string sandboxId, BaseImage baseImage, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(PrepareAsync), sandboxId, () => inner.PrepareAsync(sandboxId, baseImage, cancellationToken), cancellationToken);

    public Task<PreparedDisk> AttachAsync(PreparedDisk disk, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(AttachAsync), disk.SandboxId, () => inner.AttachAsync(disk, cancellationToken), cancellationToken);

    public Task DetachAsync(PreparedDisk disk, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(DetachAsync), disk.SandboxId, () => inner.DetachAsync(disk, cancellationToken), cancellationToken);

    public Task<BaseImage> FreezeAsync(PreparedDisk disk, string destinationDirectory, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(FreezeAsync), disk.SandboxId, () => inner.FreezeAsync(disk, destinationDirectory, cancellationToken), cancellationToken);

    public Task ReleaseAsync(PreparedDisk disk, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(ReleaseAsync), disk.SandboxId, () => inner.ReleaseAsync(disk, cancellationToken), cancellationToken);

    public Task DeleteBaseAsync(BaseImage image, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(DeleteBaseAsync), image.Id, () => inner.DeleteBaseAsync(image, cancellationToken), cancellationToken);

    public Task<IReadOnlyList<PreparedDisk>> DiscoverAsync(string ownerPrefix, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(DiscoverAsync), ownerPrefix, () => inner.DiscoverAsync(ownerPrefix, cancellationToken), cancellationToken);

    public Task<long> AllocatedBytesAsync(PreparedDisk disk, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(AllocatedBytesAsync), disk.SandboxId, () => inner.AllocatedBytesAsync(disk, cancellationToken), cancellationToken);
}

/// <summary>Storage that freezes disks in use: those calls are timed too.</summary>
internal sealed class TimedLiveStorage(IStorage inner, ILiveDiskSnapshot live, PluginCallLog log) : TimedStorage(inner, log), ILiveDiskSnapshot
{
    public Task<LiveDiskFreeze> FreezeLiveAsync(PreparedDisk disk, string destinationDirectory, CancellationToken cancellationToken) =>
        Log.TimeAsync(nameof(FreezeLiveAsync), disk.SandboxId, () => live.FreezeLiveAsync(disk, destinationDirectory, cancellationToken), cancellationToken);

    public Task UndoFreezeLiveAsync(LiveDiskFreeze freeze, CancellationToken cancellationToken) =>
        Log.TimeAsync(nameof(UndoFreezeLiveAsync), freeze.Disk.SandboxId, () => live.UndoFreezeLiveAsync(freeze, cancellationToken), cancellationToken);

    public Task<IReadOnlyList<string>> LayersAsync(string imagePath, CancellationToken cancellationToken) =>
        Log.TimeAsync(nameof(LayersAsync), imagePath, () => live.LayersAsync(imagePath, cancellationToken), cancellationToken);
}
