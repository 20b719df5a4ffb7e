namespace Wrenn.Abstractions.Memory;

/// <summary>
/// Optional (since 1.1), for memory plugins whose backing can die under a running guest (a page
/// server): the silo watches every restored VM's backing and fails the sandbox cleanly when it dies,
/// rather than leaving a guest that hangs on its next page fault.
/// </summary>
public interface IMemoryWatch
{
    /// <summary>Completes with the reason when <paramref name="backing"/> can no longer serve its guest; runs until then or until cancelled.</summary>
    Task<string> WhenFailedAsync(MemoryBacking backing, CancellationToken cancellationToken);
}
