using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Wrenn.Silo.Runtime.Cluster;

/// <summary>
/// This silo's place in the cluster: it joins as a new incarnation, heartbeats, keeps a view of the
/// others, votes against silos that stopped heartbeating, and fences itself — stops serving when its
/// lease runs out, and drops everything and rejoins as a new incarnation when it finds itself
/// declared dead.
/// </summary>
internal sealed partial class MembershipService(
    MembershipTable table,
    MembershipOptions options,
    string name,
    Uri endpoint,
    ILogger logger,
    Func<Task> onFenced) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _paused = new(1, 1);
    private Task? _loop;
    private long _leaseUntil;
    private volatile ClusterView _view = ClusterView.Empty;
    private readonly Lock _refreshLock = new();
    private Task? _reading;
    private Task? _nextRead;

    public long Incarnation { get; private set; }

    public string Name => name;

    public ClusterView View => _view;

    /// <summary>How long a silo may go without a heartbeat before it is suspected.</summary>
    public TimeSpan FailureDetectionTime => options.SuspectAfter;

    /// <summary>Whether this silo may serve calls now: its lease from the last heartbeat has not run out.</summary>
    public bool CanServe => !_stop.IsCancellationRequested && Stopwatch.GetTimestamp() < Volatile.Read(ref _leaseUntil);

    public async Task JoinAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var predecessor = await table.FindActiveAsync(name, cancellationToken);
        if (predecessor is not null && predecessor.Incarnation != Incarnation && predecessor.HeartbeatAge < options.SuspectAfter
            && await AnswersAsync(predecessor.Endpoint, cancellationToken))
            throw new InvalidOperationException(
                $"A silo named {name} is already running (incarnation {predecessor.Incarnation} at {predecessor.Endpoint.Authority}, heartbeat {predecessor.HeartbeatAge.TotalSeconds:0.0} s ago). Stop it first, or give this silo another name.");
        Incarnation = await table.JoinAsync(name, endpoint, predecessor?.Incarnation, cancellationToken);
        ExtendLease(started);
        if (predecessor is not null)
            LogPredecessorDeclaredDead(logger, name, predecessor.Incarnation);
        LogJoined(logger, name, Incarnation, endpoint.Authority);
        await RefreshViewAsync(cancellationToken);
        _loop ??= Task.Run(LoopAsync);
    }

    /// <summary>Whether anything listens at a silo's endpoint: a crashed predecessor's port is closed.</summary>
    private static async Task<bool> AnswersAsync(Uri endpoint, CancellationToken cancellationToken)
    {
        using var client = new System.Net.Sockets.TcpClient();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            await client.ConnectAsync(endpoint.Host, endpoint.Port, limit.Token);
            return true;
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private void ExtendLease(long heartbeatStarted) =>
        Volatile.Write(ref _leaseUntil, heartbeatStarted + (long)(options.Lease.TotalSeconds * Stopwatch.Frequency));

    /// <summary>
    /// Reads the membership table again. Callers share reads: one that arrives while a read is under way
    /// waits for the next one, which starts when that ends, so no caller gets a view older than its question.
    /// </summary>
    public Task RefreshViewAsync(CancellationToken cancellationToken)
    {
        lock (_refreshLock)
        {
            if (_reading is null || _reading.IsCompleted)
                return (_reading = ReadViewAsync()).WaitAsync(cancellationToken);
            if (_nextRead is null || _nextRead.IsCompleted)
                _nextRead = ReadAfterAsync(_reading);
            return _nextRead.WaitAsync(cancellationToken);
        }
    }

    private async Task ReadAfterAsync(Task reading)
    {
        await reading.ContinueWith(_ => { }, TaskScheduler.Default); // its failure belongs to its own callers
        Task read;
        lock (_refreshLock)
        {
            read = _reading = ReadViewAsync();
            _nextRead = null;
        }
        await read;
    }

    private async Task ReadViewAsync() =>
        _view = new ClusterView(await table.ReadAsync(_stop.Token), options.SuspectAfter);

    private async Task LoopAsync()
    {
        using var ticks = new PeriodicTimer(options.HeartbeatInterval);
        while (await WaitTickAsync(ticks))
        {
            await _paused.WaitAsync(_stop.Token).ConfigureAwait(false);
            try
            {
                await BeatAsync(_stop.Token);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogHeartbeatFailed(logger, e, name, options.Lease.TotalSeconds);
            }
            finally
            {
                _paused.Release();
            }
        }
    }

    private async Task<bool> WaitTickAsync(PeriodicTimer ticks)
    {
        try
        {
            return await ticks.WaitForNextTickAsync(_stop.Token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task BeatAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        if (!await table.HeartbeatAsync(Incarnation, cancellationToken))
        {
            Volatile.Write(ref _leaseUntil, 0);
            LogFenced(logger, name, Incarnation);
            await onFenced();
            await JoinAsync(cancellationToken);
            return;
        }
        ExtendLease(started);
        await RefreshViewAsync(cancellationToken);
        foreach (var silo in _view.Silos)
        {
            if (silo.Incarnation == Incarnation || !_view.IsSuspected(silo) || !CanServe)
                continue;
            if (await table.SuspectAsync(Incarnation, silo.Incarnation, options.SuspectAfter, options.VotesToDeclareDead, cancellationToken))
            {
                LogDeclaredDead(logger, silo.ToString(), silo.HeartbeatAge.TotalSeconds);
                await RefreshViewAsync(cancellationToken);
            }
        }
    }

    /// <summary>Test hook: stop heartbeating, as a silo stalled by a long pause or cut off from the database would.</summary>
    internal Task PauseHeartbeatsAsync() => _paused.WaitAsync();

    internal void ResumeHeartbeats() => _paused.Release();

    public Task LeaveAsync(CancellationToken cancellationToken) => table.LeaveAsync(Incarnation, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (_loop is not null)
            await _loop;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Name} joined the cluster as incarnation {Incarnation}; silo-to-silo endpoint {Endpoint}")]
    private static partial void LogJoined(ILogger logger, string name, long incarnation, string endpoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Name} found its previous incarnation {Incarnation} still marked active (it crashed); declared it dead and took over its pinned grains")]
    private static partial void LogPredecessorDeclaredDead(ILogger logger, string name, long incarnation);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Name} could not heartbeat; it stops serving if this lasts {Lease} s. Check the database connection")]
    private static partial void LogHeartbeatFailed(ILogger logger, Exception exception, string name, double lease);

    [LoggerMessage(Level = LogLevel.Error, Message = "Silo {Name} incarnation {Incarnation} was declared dead by the cluster; dropping its activations and rejoining as a new incarnation")]
    private static partial void LogFenced(ILogger logger, string name, long incarnation);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Declared silo {Silo} dead: no heartbeat for {Seconds:0.0} s; its grains re-activate elsewhere on their next call")]
    private static partial void LogDeclaredDead(ILogger logger, string silo, double seconds);
}
