using Microsoft.Extensions.Logging;
using Wrenn.Grains.Sandboxes;
using Wrenn.Guest.Protocol;
using Wrenn.Guest.Protocol.V1;
using Wrenn.Silo.Metrics;

namespace Wrenn.Silo.Grains;

/// <summary>
/// autoPause: while a sandbox with <see cref="SandboxLifecycle.IdleSeconds"/> runs, a grain timer
/// (every <c>IdleCheckEvery</c>, holding no turn) looks at it. It is busy while a user's call that
/// needs the VM is open or ended within the window (<see cref="Sandboxes.SandboxActivity"/>: execs,
/// file transfers, process calls, subscriptions, forwarded connections; never the platform's own
/// health, metrics or clock calls), or while its guest used more than <c>IdleCpuShare</c> of one vCPU
/// by its own kernel's count (the agent's /proc/stat, not the emulated VMM's CPU time): a long build
/// with nobody attached keeps it running. After <c>idleSeconds</c> without either it pauses itself
/// (reason IDLE).
/// </summary>
public sealed partial class SandboxGrain
{
    /// <summary>A CPU reading that takes longer than this counts as busy (a guest too loaded to answer is not idle).</summary>
    private static readonly TimeSpan IdleReadingTimeout = TimeSpan.FromSeconds(2);

    private IGrainTimer? _idleTimer;
    private CancellationTokenSource? _idleWatch;
    private CpuTimes? _idleCpu;

    /// <summary>When it was last seen busy (Environment.TickCount64); the idle window counts from here.</summary>
    private long _busyAtMs;

    /// <summary>A user's call that needs the VM, open until disposed: the sandbox is not idle meanwhile.</summary>
    private IDisposable Busy() => activity.Open(Id);

    /// <summary>(Re)starts the watch for a running sandbox with autoPause; the window starts now (a create, a resume, a change).</summary>
    private void KeepIdleWatch()
    {
        StopIdleWatch();
        if (_record is not { State: SandboxState.Running } record || record.Settings.IdleSeconds is null || _agent is not { } agent)
            return;
        _busyAtMs = Environment.TickCount64;
        _idleWatch = new CancellationTokenSource();
        var token = _idleWatch.Token;
        _idleTimer = this.RegisterGrainTimer(_ => CheckIdleAsync(agent, token), new GrainTimerCreationOptions
        {
            // The first reading at once, so that every interval from here on has its CPU share.
            DueTime = TimeSpan.Zero, Period = options.Value.IdleCheckEvery, Interleave = true, KeepAlive = false,
        });
    }

    private void StopIdleWatch()
    {
        _idleTimer?.Dispose();
        _idleTimer = null;
        _idleWatch?.Cancel();
        _idleWatch?.Dispose();
        _idleWatch = null;
        _idleCpu = null;
    }

    private async Task CheckIdleAsync(AgentClient agent, CancellationToken token)
    {
        if (token.IsCancellationRequested || _record is not { State: SandboxState.Running } record || record.Settings.IdleSeconds is not { } idleSeconds)
            return;
        var (open, lastMs) = activity.Of(Id);
        if (open > 0)
            _busyAtMs = Environment.TickCount64;
        else if (lastMs > _busyAtMs)
            _busyAtMs = lastMs.Value;

        try
        {
            var sample = await agent.SampleAsync(token, IdleReadingTimeout);
            if (token.IsCancellationRequested)
                return;
            if (_idleCpu is { } before && sample.Cpu is { } now && CpuShare(before, now, sample.Cpus) is { } share)
            {
                LogIdleReading(Id, share, open);
                if (share > options.Value.IdleCpuShare)
                    _busyAtMs = Environment.TickCount64;
            }
            _idleCpu = sample.Cpu;
        }
        catch (Exception e) when (e is AgentException or ObjectDisposedException or OperationCanceledException)
        {
            if (token.IsCancellationRequested)
                return;
            // No reading is no proof of idleness: the window starts again.
            _busyAtMs = Environment.TickCount64;
            _idleCpu = null;
        }

        if (Environment.TickCount64 - _busyAtMs >= idleSeconds * 1000L)
            await PauseIdleAsync(token);
    }

    /// <summary>The guest's CPU time between two readings, in vCPUs (1.0: one vCPU busy all the time); null when no time passed.</summary>
    private static double? CpuShare(CpuTimes before, CpuTimes now, uint cpus)
    {
        var busy = (double)(SandboxReading.Busy(now) - Math.Min(SandboxReading.Busy(now), SandboxReading.Busy(before)));
        var all = (double)(SandboxReading.All(now) - Math.Min(SandboxReading.All(now), SandboxReading.All(before)));
        return all > 0 ? busy / all * Math.Max(1, cpus) : null;
    }

    private async Task PauseIdleAsync(CancellationToken watch)
    {
        var decidedAtMs = Environment.TickCount64;
        using var turn = await _turns.EnterExclusiveAsync();
        // Looked at again in the turn: a call that came meanwhile (it waits behind this turn, holding its
        // lease), a change of settings or another transition keeps it as it is.
        if (watch.IsCancellationRequested || _record is not { State: SandboxState.Running, Vm: { } vm } record || record.Settings.IdleSeconds is not { } idleSeconds)
            return;
        var (open, lastMs) = activity.Of(Id);
        if (open > 0 || lastMs > _busyAtMs || _busyAtMs > decidedAtMs)
            return;
        LogIdlePausing(Id, idleSeconds);
        try
        {
            // The silo's own pause: the team's paused quota records it but never refuses it.
            await PauseInTurnAsync(record, vm, PauseReason.Idle, enforce: false);
        }
        catch (Exception e)
        {
            LogIdlePauseFailed(e, Id);
            return;
        }
        await audit.RecordAsync(Caller.System, "sandbox.idle-pause", Id, new { idleSeconds }, CancellationToken.None);
    }

    [LoggerMessage(Level = LogLevel.Trace, Message = "Sandbox {SandboxId}: guest CPU {Share:0.000} vCPU since the last check, {Open} call(s) open")]
    private partial void LogIdleReading(string sandboxId, double share, int open);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId} was idle for {IdleSeconds} s (no call open, its guest's CPU under the threshold); pausing it")]
    private partial void LogIdlePausing(string sandboxId, int idleSeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sandbox {SandboxId} could not be paused when idle; it keeps running and is looked at again")]
    private partial void LogIdlePauseFailed(Exception exception, string sandboxId);
}
