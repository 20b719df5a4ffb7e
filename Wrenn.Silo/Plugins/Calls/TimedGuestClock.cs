using Wrenn.Abstractions.Clock;
using Wrenn.Abstractions.Guest;

namespace Wrenn.Silo.Plugins.Calls;

/// <summary>Times and logs every call into a clock plugin (see <see cref="PluginCallLog"/>); keeping a guest in step is a watch.</summary>
internal sealed class TimedGuestClock(IGuestClock inner, PluginCallLog log) : IGuestClock
{
    public string Name => inner.Name;

    public IReadOnlyList<string> KernelArgs => inner.KernelArgs;

    public Task<TimeSpan> SyncAsync(IGuestControl guest, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(SyncAsync), guest.SandboxId, () => inner.SyncAsync(guest, cancellationToken), cancellationToken);

    public Task KeepInSyncAsync(IGuestControl guest, CancellationToken cancellationToken) =>
        log.TimeAsync(nameof(KeepInSyncAsync), guest.SandboxId, () => inner.KeepInSyncAsync(guest, cancellationToken), cancellationToken, watch: true);
}
