namespace Wrenn.Abstractions.Memory;

/// <summary>
/// Optional (since 1.2), for memory plugins that leave files or processes of their own on the host
/// (a sandbox's RAM file, a page server): the silo's reconciler lists them to remove those no
/// sandbox claims any more, e.g. after a crash in the middle of a create.
/// </summary>
public interface IMemoryDiscovery
{
    /// <summary>The backings of sandboxes whose host objects carry <paramref name="ownerPrefix"/>.</summary>
    Task<IReadOnlyList<DiscoveredMemory>> DiscoverAsync(string ownerPrefix, CancellationToken cancellationToken);
}

/// <summary>A sandbox's memory backing found on the host; <see cref="IMemoryBackend.ReleaseAsync"/> frees it.</summary>
public sealed record DiscoveredMemory(string SandboxId, MemoryBacking Backing);
