using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Wrenn.Grains.Errors;
using Wrenn.Grains.Sandboxes;
using Wrenn.Guest.Protocol;
using Wrenn.Silo.Metrics;
using Wrenn.Silo.Sandboxes;

namespace Wrenn.Silo.Grains;

/// <summary>
/// Metrics of a running sandbox: a grain timer samples it every <c>SampleEvery</c> into a history kept
/// in memory, while it runs only (started when a VM is attached, stopped when it is detached). Sampling
/// takes no turn: it reads the client and VM it was started with and is cancelled by the detach, so a
/// pause or destroy never waits for it, and a sample that raced a transition is dropped.
/// </summary>
public sealed partial class SandboxGrain
{
    private IGrainTimer? _sampler;
    private CancellationTokenSource? _sampling;
    private SandboxReading? _lastReading;
    private SandboxMetrics? _latest;
    private MetricsHistory? _history;

    private MetricsHistory History => _history ??= new MetricsHistory(telemetry.Options.HistoryKept);

    /// <summary>Called when a running VM is attached: sampling starts (if metrics are on).</summary>
    private void StartSampling(SandboxVm vm)
    {
        StopSampling();
        _sampling = new CancellationTokenSource();
        if (!telemetry.Options.Enabled)
            return;
        var token = _sampling.Token;
        var vcpus = _record?.Vcpus ?? 1;
        _sampler = this.RegisterGrainTimer(_ => SampleAsync(vm, vcpus, token), new GrainTimerCreationOptions
        {
            DueTime = TimeSpan.Zero, Period = telemetry.Options.SampleEvery, Interleave = true, KeepAlive = false,
        });
    }

    /// <summary>Called when the VM is detached (pause, destroy, deactivation): no sample is taken until the next attach.</summary>
    private void StopSampling()
    {
        _sampler?.Dispose();
        _sampler = null;
        _sampling?.Cancel();
        _sampling?.Dispose();
        _sampling = null;
        _lastReading = null;
        _latest = null;
        telemetry.Forget(Id);
    }

    private async Task SampleAsync(SandboxVm vm, int vcpus, CancellationToken token)
    {
        if (_agent is not { } agent || token.IsCancellationRequested)
            return;
        try
        {
            var reading = await telemetry.ReadAsync(agent, vm, token);
            if (token.IsCancellationRequested)
                return; // detached meanwhile: this sample belongs to a VM that is no longer the sandbox's
            if (_lastReading is { } previous)
                Keep(reading.Since(previous, vcpus));
            _lastReading = reading;
        }
        catch (Exception e) when (e is AgentException or ObjectDisposedException or OperationCanceledException)
        {
            if (!token.IsCancellationRequested)
                LogSampleFailed(Id, e.Message);
        }
    }

    private void Keep(SandboxMetrics sample)
    {
        _latest = sample;
        History.Add(sample);
        telemetry.Report(Id, sample);
    }

    public async Task<SandboxMetrics?> GetMetricsAsync(Caller caller)
    {
        if (Visible(caller).State != SandboxState.Running)
            return null;
        if (_latest is { } latest && latest.SampledAt > DateTimeOffset.UtcNow - 2 * telemetry.Options.SampleEvery)
            return latest;
        // Not sampled yet (just started, or metrics off): sample now, over the interval since the last reading (or since start).
        using var turn = await _turns.EnterSharedAsync(CancellationToken.None);
        if (_record is not { State: SandboxState.Running, Vm: { } vm } record || _agent is not { } agent)
            return null;
        try
        {
            var reading = await telemetry.ReadAsync(agent, vm, turn.Token);
            var sample = reading.Since(_lastReading, record.Vcpus);
            // The answer, not the history: the history is the sampler's own series, one every
            // interval (a sample kept here put two in it a few milliseconds apart).
            if (telemetry.Options.Enabled)
                _latest = sample;
            return sample;
        }
        catch (AgentException e)
        {
            throw new GrainException(ErrorCodes.Unavailable, $"Sandbox {Id}'s agent did not answer for its metrics: {e.Message}");
        }
    }

    public Task<IReadOnlyList<SandboxMetrics>> GetMetricsHistoryAsync(Caller caller, int minutes)
    {
        Visible(caller);
        if (minutes < 1)
            throw new GrainException(ErrorCodes.InvalidArgument, $"minutes must be at least 1 (got {minutes}).");
        var window = TimeSpan.FromMinutes(minutes);
        if (window > telemetry.Options.HistoryKept)
            window = telemetry.Options.HistoryKept;
        return Task.FromResult(History.Last(window, DateTimeOffset.UtcNow));
    }

    public async IAsyncEnumerable<SandboxMetrics> WatchMetricsAsync(Caller caller, int intervalSeconds, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Visible(caller);
        if (intervalSeconds is < 1 or > 3600)
            throw new GrainException(ErrorCodes.InvalidArgument, $"intervalSeconds must be between 1 and 3600 (got {intervalSeconds}).");
        var interval = TimeSpan.FromSeconds(intervalSeconds);
        // Each watcher keeps its own previous reading, so its CPU figures cover its own interval.
        SandboxReading? previous = null;
        SandboxVm? readingOf = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            if (_record is not { } record || record.State is SandboxState.Destroyed or SandboxState.Failed or SandboxState.Lost)
                yield break;
            SandboxMetrics? sample = null;
            if (record.State == SandboxState.Running && _agent is { } agent && record.Vm is { } vm && _sampling is { } sampling)
            {
                if (!ReferenceEquals(vm, readingOf))
                    (previous, readingOf) = (null, vm); // resumed since: a new VM, new counters
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, sampling.Token);
                try
                {
                    var reading = await telemetry.ReadAsync(agent, vm, linked.Token);
                    if (previous is not null)
                        sample = reading.Since(previous, record.Vcpus);
                    previous = reading;
                }
                catch (Exception e) when (e is AgentException or ObjectDisposedException or OperationCanceledException)
                {
                    previous = null; // paused or detached under it: start again after the resume
                }
            }
            if (sample is not null)
                yield return sample;
            try
            {
                await Task.Delay(previous is not null && sample is null ? TimeSpan.FromSeconds(Math.Min(1, intervalSeconds)) : interval, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                yield break;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Sandbox {SandboxId}: a metrics sample failed ({Reason})")]
    private partial void LogSampleFailed(string sandboxId, string reason);
}
