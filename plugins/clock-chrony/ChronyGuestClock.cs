using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Wrenn.Abstractions.Clock;
using Wrenn.Abstractions.Guest;

namespace Wrenn.Plugins.Clock.Chrony;

/// <summary>Configuration of the guest clock plugin (<c>Wrenn:Plugins:chrony</c>).</summary>
public sealed class ChronyOptions
{
    /// <summary>How often a guest without a PTP clock is set from the host while it runs.</summary>
    public TimeSpan PushInterval { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// A guest with /dev/ptp0 (the ptp_kvm clock, on KVM hosts) runs chrony with it as a PHC refclock
/// and needs nothing from the host. A guest without one (TCG) keeps the time of its snapshot after
/// a restore and never catches up, so the host sets its clock through the agent right after every
/// boot and restore, and again every <see cref="ChronyOptions.PushInterval"/>.
/// </summary>
public sealed partial class ChronyGuestClock(IOptions<ChronyOptions> options, ILogger<ChronyGuestClock> logger) : IGuestClock
{
    public string Name => "chrony";

    public IReadOnlyList<string> KernelArgs { get; } = [];

    public async Task<TimeSpan> SyncAsync(IGuestControl guest, CancellationToken cancellationToken)
    {
        if (await guest.HasPtpClockAsync(cancellationToken))
            return TimeSpan.Zero; // chrony follows the PTP clock continuously
        var before = await guest.GetTimeAsync(cancellationToken);
        var now = DateTimeOffset.UtcNow;
        await guest.SetTimeAsync(now, cancellationToken);
        var offset = now - before;
        LogSet(guest.SandboxId, offset.TotalMilliseconds);
        return offset;
    }

    public async Task KeepInSyncAsync(IGuestControl guest, CancellationToken cancellationToken)
    {
        if (await guest.HasPtpClockAsync(cancellationToken))
            return;
        using var timer = new PeriodicTimer(options.Value.PushInterval);
        while (await timer.WaitForNextTickAsync(cancellationToken))
            await SyncAsync(guest, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Guest clock of {SandboxId} set from the host (it was {OffsetMs} ms behind)")]
    private partial void LogSet(string sandboxId, double offsetMs);
}
