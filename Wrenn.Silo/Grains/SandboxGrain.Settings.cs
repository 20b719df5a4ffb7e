using Microsoft.Extensions.Logging;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;

namespace Wrenn.Silo.Grains;

/// <summary>
/// The sandbox's lifecycle settings (what its timeout does, autoPause, autoResume): chosen at create,
/// kept in its record (so a pause, resume, restart or re-adoption never resets them) and changed only
/// by <see cref="UpdateLifecycleAsync"/>, running or paused.
/// </summary>
public sealed partial class SandboxGrain
{
    public async Task<SandboxInfo> UpdateLifecycleAsync(Caller caller, LifecycleChange change)
    {
        // A shared turn, as for the network policy: a long exec must not hold a change back (transitions
        // read the settings in their own turn). Its lock too: the two write the record from shared turns.
        using var turn = await _turns.EnterSharedAsync(CancellationToken.None);
        await _networkChange.WaitAsync();
        try
        {
            return await ChangeLifecycleAsync(caller, change);
        }
        finally
        {
            _networkChange.Release();
        }
    }

    private async Task<SandboxInfo> ChangeLifecycleAsync(Caller caller, LifecycleChange change)
    {
        var record = Visible(caller);
        if (record.State is not (SandboxState.Running or SandboxState.Paused))
            throw NotRunning(record);
        var before = record.Settings;
        var after = before with
        {
            OnTimeout = change.OnTimeout ?? before.OnTimeout,
            IdleSeconds = change.SetsAutoPause ? change.IdleSeconds : before.IdleSeconds,
            AutoResume = change.AutoResume ?? before.AutoResume,
        };
        CheckLifecycle(after);
        if (after == before)
            return record.ToInfo();
        _record = await store.UpdateAsync(record with { Lifecycle = after }, CancellationToken.None);
        // A new idleSeconds counts from now; turned off, the watch stops.
        if (before.IdleSeconds != after.IdleSeconds)
            KeepIdleWatch();
        LogLifecycleChanged(Id, after.OnTimeout, after.IdleSeconds, after.AutoResume);
        return _record.ToInfo();
    }

    /// <summary>Refuses settings no sandbox may have, naming the field (INVALID_ARGUMENT is BAD_USER_INPUT in the API).</summary>
    private static void CheckLifecycle(SandboxLifecycle lifecycle)
    {
        if (lifecycle.IdleSeconds is { } idle && idle is < SandboxLifecycle.MinIdleSeconds or > SandboxLifecycle.MaxIdleSeconds)
            throw new GrainException(ErrorCodes.InvalidArgument,
                $"autoPause.idleSeconds must be between {SandboxLifecycle.MinIdleSeconds} and {SandboxLifecycle.MaxIdleSeconds} (got {idle}); to turn autoPause off, give autoPause: null.");
        if (!Enum.IsDefined(lifecycle.OnTimeout))
            throw new GrainException(ErrorCodes.InvalidArgument, $"onTimeout must be DESTROY or PAUSE (got {(int)lifecycle.OnTimeout}).");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId}: lifecycle now onTimeout {OnTimeout}, autoPause after {IdleSeconds} s idle (none if empty), autoResume {AutoResume}")]
    private partial void LogLifecycleChanged(string sandboxId, TimeoutAction onTimeout, int? idleSeconds, bool autoResume);
}
