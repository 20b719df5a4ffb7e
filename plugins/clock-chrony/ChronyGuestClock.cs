using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Wrenn.Abstractions.Clock;
using Wrenn.Abstractions.Guest;

namespace Wrenn.Plugins.Clock.Chrony;

/// <summary>Configuration of the guest clock plugin (<c>Wrenn:Plugins:chrony</c>).</summary>
public sealed class ChronyOptions
{
    /// <summary>How often a guest without a PTP clock is set from the host while it runs.</summary>
    public TimeSpan PushInterval { get; set; } = TimeSpan.FromSeconds(10);
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

    /// <summary>kvm-clock where KVM gives it (the kernel falls back to another source under TCG and says so).</summary>
    public IReadOnlyList<string> KernelArgs { get; } = ["clocksource=kvm-clock"];

    public async Task<TimeSpan> SyncAsync(IGuestControl guest, CancellationToken cancellationToken)
    {
        if (await guest.HasPtpClockAsync(cancellationToken))
            return TimeSpan.Zero; // chrony follows the PTP clock continuously
        // A call into a just-restored guest can take a while (emulated, or a loaded host), so the
        // time sent is advanced by half the measured round trip, then checked and set again if off.
        var corrected = TimeSpan.Zero;
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var (offset, roundTrip) = await MeasureAsync(guest, cancellationToken);
            if (attempt == 0)
                corrected = -offset;
            if (offset.Duration() <= Tolerance)
                break;
            await guest.SetTimeAsync(DateTimeOffset.UtcNow + roundTrip / 2, cancellationToken);
        }
        LogSet(guest.SandboxId, corrected.TotalMilliseconds);
        return corrected;
    }

    private const int MaxAttempts = 4;
    private static readonly TimeSpan Tolerance = TimeSpan.FromMilliseconds(100);

    /// <summary>The guest clock's offset from the host (guest minus host), judged at the middle of the call.</summary>
    private static async Task<(TimeSpan Offset, TimeSpan RoundTrip)> MeasureAsync(IGuestControl guest, CancellationToken cancellationToken)
    {
        var sent = DateTimeOffset.UtcNow;
        var guestTime = await guest.GetTimeAsync(cancellationToken);
        var received = DateTimeOffset.UtcNow;
        var roundTrip = received - sent;
        return (guestTime - (sent + roundTrip / 2), roundTrip);
    }

    public async Task KeepInSyncAsync(IGuestControl guest, CancellationToken cancellationToken)
    {
        if (await guest.HasPtpClockAsync(cancellationToken))
            return;
        using var timer = new PeriodicTimer(options.Value.PushInterval);
        while (await timer.WaitForNextTickAsync(cancellationToken))
            await SyncAsync(guest, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Guest clock of {SandboxId} set from the host (it was {OffsetMs} ms behind the host)")]
    private partial void LogSet(string sandboxId, double offsetMs);
}
