using Wrenn.Abstractions.Guest;

namespace Wrenn.Abstractions.Clock;

/// <summary>
/// Keeps the guest clock right. A restored guest's clock stands still while it is paused and never
/// catches up by itself, so the silo calls <see cref="SyncAsync"/> after every boot and restore.
/// </summary>
public interface IGuestClock
{
    /// <summary>The plugin's name (<c>chrony</c>).</summary>
    string Name { get; }

    /// <summary>Kernel arguments the guest needs for this clock (e.g. <c>clocksource=kvm-clock</c>).</summary>
    IReadOnlyList<string> KernelArgs { get; }

    /// <summary>Sets the guest clock right after a boot or restore; returns the offset it corrected.</summary>
    Task<TimeSpan> SyncAsync(IGuestControl guest, CancellationToken cancellationToken);

    /// <summary>
    /// Keeps a running guest from drifting; runs until cancelled. Implementations that rely on the
    /// guest's own time source may return at once.
    /// </summary>
    Task KeepInSyncAsync(IGuestControl guest, CancellationToken cancellationToken);
}
