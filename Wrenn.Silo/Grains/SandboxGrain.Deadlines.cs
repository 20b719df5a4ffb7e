using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.Silo.Grains;

/// <summary>
/// A running sandbox's timeout (it destroys the sandbox, or pauses it with onTimeout PAUSE) and a paused one's retention. Each is kept twice: a reminder (durable:
/// it survives a silo restart and activates the grain when due, but fires at most once a minute)
/// and a grain timer for the exact moment (a timeout may be seconds away). Both only ever ask the
/// grain to look at its record, which holds the deadline: a late or duplicate tick does nothing.
/// </summary>
public sealed partial class SandboxGrain
{
    private const string DeadlineReminder = "deadline";
    private IGrainTimer? _deadlineTimer;

    /// <summary>Running: the record's deadline destroys it, or pauses it (onTimeout PAUSE).</summary>
    private Task KeepDeadlineAsync() =>
        _record is { State: SandboxState.Running } && DueAt() is { } deadline ? ArmAsync(deadline) : Task.CompletedTask;

    /// <summary>Paused: the retention deletes it, counted from when it was paused.</summary>
    private Task KeepRetentionAsync()
    {
        if (_record is not { State: SandboxState.Paused } || DueAt() is not { } retained)
            return Task.CompletedTask;
        StayActive();
        return ArmAsync(retained);
    }

    /// <summary>A grain timer waits at most this long (timers cannot wait weeks); when it fires early it is set again.</summary>
    private static readonly TimeSpan LongestTimerWait = TimeSpan.FromDays(1);

    private async Task ArmAsync(DateTimeOffset due)
    {
        var wait = due - DateTimeOffset.UtcNow;
        if (wait < TimeSpan.Zero)
            wait = TimeSpan.Zero;
        _deadlineTimer?.Dispose();
        _deadlineTimer = this.RegisterGrainTimer(_ => CheckDeadlineAsync(), new GrainTimerCreationOptions
        {
            DueTime = wait < LongestTimerWait ? wait : LongestTimerWait, Period = Timeout.InfiniteTimeSpan, Interleave = true, KeepAlive = false,
        });
        await this.RegisterOrUpdateReminder(DeadlineReminder, wait, TimeSpan.FromMinutes(1));
    }

    private async Task ForgetTimersAsync()
    {
        _deadlineTimer?.Dispose();
        _deadlineTimer = null;
        if (await this.GetReminder(DeadlineReminder) is { } reminder)
            await this.UnregisterReminder(reminder);
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) =>
        reminderName == DeadlineReminder ? CheckDeadlineAsync() : Task.CompletedTask;

    /// <summary>Destroys the sandbox if its timeout or retention has passed; otherwise sets the exact timer again.</summary>
    private async Task CheckDeadlineAsync()
    {
        if (DueAt() is not { } due)
        {
            await ForgetTimersAsync();
            return;
        }
        if (DateTimeOffset.UtcNow < due)
        {
            await ArmAsync(due); // early (a reminder tick, a timer capped at a day): look again then
            return;
        }
        // Past it: like a destroy, commands still running are cancelled (a timeout pause too: the time is up).
        using var turn = await _turns.EnterExclusiveCancellingSharedAsync();
        switch (_record)
        {
            case { State: SandboxState.Running, Deadline: { } deadline, Vm: { } vm } record when DateTimeOffset.UtcNow >= deadline && record.Settings.OnTimeout == TimeoutAction.Pause:
                LogTimedOutPausing(Id, deadline);
                try
                {
                    // The silo's own pause: recorded against the team's paused quota, never refused by it.
                    await PauseInTurnAsync(record, vm, PauseReason.Timeout, enforce: false);
                }
                catch (Exception e)
                {
                    // It runs on past its deadline; the timer looks again shortly rather than never.
                    LogTimeoutPauseFailed(e, Id);
                    await ArmAsync(DateTimeOffset.UtcNow + TimeSpan.FromSeconds(30));
                    return;
                }
                await audit.RecordAsync(Caller.System, "sandbox.timeout-pause", Id, null, CancellationToken.None);
                return;
            case { State: SandboxState.Running, Deadline: { } deadline } when DateTimeOffset.UtcNow >= deadline:
                LogTimedOut(Id, deadline);
                await EndAsync(SandboxState.Destroyed, "its timeout passed", _record.Vm, timedOut: true);
                await audit.RecordAsync(Caller.System, "sandbox.timeout", Id, null, CancellationToken.None);
                return;
            case { State: SandboxState.Paused } when DueAt() is { } retained && DateTimeOffset.UtcNow >= retained:
                LogRetentionPassed(Id, options.Value.PausedRetention);
                await EndAsync(SandboxState.Destroyed, $"it stayed paused longer than the retention of {options.Value.PausedRetention}", null, timedOut: true);
                await audit.RecordAsync(Caller.System, "sandbox.retention", Id, null, CancellationToken.None);
                return;
            default:
                // It changed while this waited for its turn (a resume, a new timeout): the timers follow the record again.
                if (DueAt() is { } next)
                    await ArmAsync(next);
                return;
        }
    }

    /// <summary>When the record says the sandbox goes: a running one at its deadline, a paused one at the end of its retention.</summary>
    private DateTimeOffset? DueAt() => _record switch
    {
        { State: SandboxState.Running, Deadline: { } deadline } => deadline,
        { State: SandboxState.Paused } paused => (paused.PausedAt ?? DateTimeOffset.UtcNow) + options.Value.PausedRetention,
        _ => null,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId} stayed paused longer than the retention of {Retention}; deleting it")]
    private partial void LogRetentionPassed(string sandboxId, TimeSpan retention);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId} reached its deadline {Deadline}; pausing it (onTimeout PAUSE)")]
    private partial void LogTimedOutPausing(string sandboxId, DateTimeOffset deadline);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sandbox {SandboxId} reached its deadline but could not be paused; it runs on and is looked at again in 30 s")]
    private partial void LogTimeoutPauseFailed(Exception exception, string sandboxId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId} reached its deadline {Deadline}; destroying it")]
    private partial void LogTimedOut(string sandboxId, DateTimeOffset deadline);
}
