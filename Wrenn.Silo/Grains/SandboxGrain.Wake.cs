using Microsoft.Extensions.Logging;
using Wrenn.Grains.Sandboxes;
using Wrenn.Silo.Grains.Turns;

namespace Wrenn.Silo.Grains;

/// <summary>
/// Wake on use: a call that needs the VM (exec, files, processes, watches, listening ports, a forwarded
/// request) on a paused sandbox with autoResume resumes it first, in its own exclusive turn, then runs.
/// Concurrent calls share one wake. The grain lives on its sandbox's host, so a wake always resumes it
/// there, whichever silo the call came through. A wake is a resume the user asked for: the team's
/// quota may refuse it (RESOURCE_EXHAUSTED; it stays paused). Without autoResume the call fails with
/// FAILED_PRECONDITION saying how to resume.
/// </summary>
public sealed partial class SandboxGrain
{
    /// <summary>A call paused again before it got its turn (a timeout, a user's pause) wakes it again, this many times at most.</summary>
    private const int MaxWakesPerCall = 3;

    private Task? _waking;

    /// <summary>A shared turn for a call that needs the VM, a paused sandbox with autoResume woken first.</summary>
    private async Task<Turn> EnterForVmAsync(Caller caller, CancellationToken cancellationToken)
    {
        for (var wakes = 0; ; wakes++)
        {
            if (Visible(caller) is { State: SandboxState.Paused } paused && paused.Settings.AutoResume && wakes < MaxWakesPerCall)
                await WakeAsync(caller);
            var turn = await _turns.EnterSharedAsync(cancellationToken);
            if (_record is { State: SandboxState.Paused } again && again.Settings.AutoResume && wakes + 1 < MaxWakesPerCall)
            {
                turn.Dispose();
                continue;
            }
            return turn; // running, or not to be woken: the call itself says why it cannot run
        }
    }

    /// <summary>One wake for every call that finds the sandbox paused meanwhile; its failure is theirs.</summary>
    private async Task WakeAsync(Caller caller)
    {
        var waking = _waking ??= WakeOnceAsync(caller);
        try
        {
            await waking;
        }
        finally
        {
            if (ReferenceEquals(_waking, waking))
                _waking = null;
        }
    }

    private async Task WakeOnceAsync(Caller caller)
    {
        await Task.Yield(); // the shared task is in place before the turn is asked for
        using var turn = await _turns.EnterExclusiveAsync();
        var record = Visible(caller);
        if (record is not { State: SandboxState.Paused } || !record.Settings.AutoResume)
            return; // resumed, destroyed or changed while this waited
        var started = Environment.TickCount64;
        // A port URL's caller is the system; the wake is still the user's, so the quota always counts.
        await ResumeInTurnAsync(record, enforce: true);
        LogWoken(Id, record.PausedReason ?? PauseReason.User, Environment.TickCount64 - started);
        await audit.RecordAsync(caller, "sandbox.wake", Id, new { pausedReason = record.PausedReason?.ToString() }, CancellationToken.None);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId} (paused: {PausedReason}) woken by a call that needs its VM in {ElapsedMs} ms")]
    private partial void LogWoken(string sandboxId, PauseReason pausedReason, long elapsedMs);
}
