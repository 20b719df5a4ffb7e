using Wrenn.Abstractions.Storage;

namespace Wrenn.Silo.Plugins.Calls;

/// <summary>Times and logs every call into a storage plugin (see <see cref="PluginCallLog"/>).</summary>
internal sealed class TimedStorage(IStorage inner, PluginCallLog log) : IStorage
{
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
