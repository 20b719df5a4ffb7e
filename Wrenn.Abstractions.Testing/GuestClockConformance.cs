using Wrenn.Abstractions.Clock;
using Wrenn.Abstractions.Guest;
using Xunit;

namespace Wrenn.Abstractions.Testing;

/// <summary>
/// Checks an <see cref="IGuestClock"/> against what the silo relies on: after a restore the guest's
/// clock stands where the snapshot left it, and one sync sets it right; keeping a running guest in
/// step ends when cancelled; the kernel arguments go on a command line. The guest is a STAND-IN
/// (<see cref="StandInGuestClock"/>): a clock offset from the host's, set through the same calls the
/// agent serves.
/// </summary>
public abstract class GuestClockConformance
{
    protected abstract IGuestClock CreateClock();

    /// <summary>Whether the stand-in guest has a PTP clock (KVM guests); a clock plugin may rely on it then.</summary>
    protected virtual bool GuestHasPtpClock => false;

    [ConformanceFact]
    public async Task A_guest_clock_left_behind_by_a_restore_is_set_right_by_one_sync()
    {
        var guest = new StandInGuestClock(KitHost.NewSandboxId(), TimeSpan.FromSeconds(-30), GuestHasPtpClock);
        var clock = CreateClock();

        var corrected = await clock.SyncAsync(guest, CancellationToken.None);

        if (GuestHasPtpClock)
            return; // the guest follows its own PTP clock; nothing to set from the host
        Assert.InRange(guest.Offset.Duration(), TimeSpan.Zero, TimeSpan.FromSeconds(1));
        Assert.InRange(corrected.Duration(), TimeSpan.FromSeconds(29), TimeSpan.FromSeconds(31));
    }

    [ConformanceFact]
    public async Task Keeping_a_running_guest_in_step_ends_when_cancelled()
    {
        var guest = new StandInGuestClock(KitHost.NewSandboxId(), TimeSpan.Zero, GuestHasPtpClock);
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        var keeping = CreateClock().KeepInSyncAsync(guest, stop.Token);
        var ended = await Task.WhenAny(keeping, Task.Delay(TimeSpan.FromSeconds(30)));

        Assert.Same(keeping, ended);
        Assert.True(keeping.IsCompletedSuccessfully || keeping.IsCanceled || keeping.Exception?.InnerException is OperationCanceledException,
            $"keeping the clock ended with {keeping.Exception?.InnerException}");
    }

    [ConformanceFact]
    public void Kernel_arguments_are_single_words_for_the_kernel_command_line()
    {
        foreach (var arg in CreateClock().KernelArgs)
            Assert.True(arg.Length > 0 && !arg.Any(char.IsWhiteSpace), $"kernel argument '{arg}' is empty or holds a space");
    }
}

/// <summary>A STAND-IN guest clock: the host's time plus an offset, changed by <see cref="SetTimeAsync"/> as the agent would.</summary>
public sealed class StandInGuestClock(string sandboxId, TimeSpan offset, bool hasPtpClock) : IGuestControl
{
    private readonly object _lock = new();
    private TimeSpan _offset = offset;

    /// <summary>How far the guest's clock is from the host's now.</summary>
    public TimeSpan Offset
    {
        get
        {
            lock (_lock)
                return _offset;
        }
    }

    public string SandboxId => sandboxId;

    public Task<DateTimeOffset> GetTimeAsync(CancellationToken cancellationToken) => Task.FromResult(DateTimeOffset.UtcNow + Offset);

    public Task SetTimeAsync(DateTimeOffset time, CancellationToken cancellationToken)
    {
        lock (_lock)
            _offset = time - DateTimeOffset.UtcNow;
        return Task.CompletedTask;
    }

    public Task<bool> HasPtpClockAsync(CancellationToken cancellationToken) => Task.FromResult(hasPtpClock);
}
