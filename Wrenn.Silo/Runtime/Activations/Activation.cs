using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Wrenn.Grains.Runtime;
using Wrenn.Silo.Runtime.Calls;
using Wrenn.Silo.Runtime.Grains;
using Wrenn.Silo.Runtime.State;

namespace Wrenn.Silo.Runtime.Activations;

/// <summary>
/// One live instance of a grain on this silo: the grain object, its turn gate, timers and the
/// lifecycle around them (activating → active → deactivating → gone). The first turn activates; a
/// call that finds the activation gone is retried by the dispatcher, which then finds or makes the
/// next one.
/// </summary>
internal sealed partial class Activation : IGrainContext
{
    private enum Phase { Activating, Active, Deactivating, Gone }

    private readonly ActivationHost _host;
    private readonly GrainKind _kind;
    private readonly TurnGate _gate = new();
    private readonly CancellationTokenSource _lifetime = new();
    private readonly List<ActivationTimer> _timers = [];
    private CancellationTokenSource _sharedCalls = new();
    private Phase _phase = Phase.Activating;
    private Grain? _grain;
    private Exception? _activationFailure;
    private bool _deactivateRequested;
    private int _cancellingShared;
    private long _lastUsed = Environment.TickCount64;

    public Activation(ActivationHost host, GrainKind kind, GrainId id, long incarnation)
    {
        _host = host;
        _kind = kind;
        Id = id;
        Incarnation = incarnation;
    }

    public GrainId Id { get; }

    /// <summary>The silo incarnation whose directory entry this activation holds.</summary>
    public long Incarnation { get; }

    public Guid ActivationId { get; } = Guid.NewGuid();

    public string SiloName => _host.SiloName;

    public IGrainFactory Grains => _host.Grains;

    public bool IsGone => _phase == Phase.Gone;

    /// <summary>No call running or waiting, and none for <paramref name="idleFor"/>.</summary>
    public bool IsIdle(TimeSpan idleFor) =>
        _phase == Phase.Active && _gate.Busy == 0 && Environment.TickCount64 - Volatile.Read(ref _lastUsed) >= idleFor.TotalMilliseconds;

    /// <summary>Queues the activation turn; calls queue behind it.</summary>
    public void Start() => _ = ActivateAsync();

    private async Task ActivateAsync()
    {
        using var turn = await _gate.EnterAsync(shared: false, CancellationToken.None);
        try
        {
            _grain = (Grain)ActivatorUtilities.CreateInstance(_host.Services, _kind.Implementation);
            _grain.Context = this;
            await _grain.OnActivateAsync(_lifetime.Token);
            _phase = Phase.Active;
        }
        catch (Exception e)
        {
            LogActivationFailed(_host.Logger, e, Id.ToString());
            _activationFailure = e;
            _phase = Phase.Gone;
            _lifetime.Cancel();
            await _host.RetireAsync(this, releaseDirectoryEntry: true);
        }
    }

    public async Task<object?> InvokeAsync(GrainMethod method, object?[] arguments, ImmutableArray<string> chain, CancellationToken cancellationToken)
    {
        var (turn, callToken) = await EnterAsync(method, cancellationToken);
        try
        {
            CallChain.Current = chain.Add(Id.ToString());
            return await method.InvokeAsync(_kind.ImplementationOf(method), _grain!, arguments, callToken.Token);
        }
        finally
        {
            callToken.Dispose();
            Exit(turn, method);
        }
    }

    public async IAsyncEnumerable<object?> StreamAsync(GrainMethod method, object?[] arguments, ImmutableArray<string> chain, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (turn, callToken) = await EnterAsync(method, cancellationToken);
        try
        {
            var here = chain.Add(Id.ToString());
            CallChain.Current = here;
            await using var items = method.InvokeStream(_kind.ImplementationOf(method), _grain!, arguments, callToken.Token).GetAsyncEnumerator(callToken.Token);
            while (true)
            {
                // An iterator does not keep async-local values between items, so set the chain for each.
                CallChain.Current = here;
                if (!await items.MoveNextAsync())
                    break;
                yield return items.Current;
            }
        }
        finally
        {
            callToken.Dispose();
            Exit(turn, method);
        }
    }

    private async Task<(TurnGate.Turn, CancellationTokenSource)> EnterAsync(GrainMethod method, CancellationToken cancellationToken)
    {
        CancellationToken sharedToken = default;
        lock (_gate)
        {
            if (method.CancelsShared)
            {
                _cancellingShared++;
                _sharedCalls.Cancel();
                _sharedCalls = new CancellationTokenSource();
            }
            if (method.Shared)
                sharedToken = _sharedCalls.Token;
        }

        TurnGate.Turn turn;
        try
        {
            turn = await _gate.EnterAsync(method.Shared, cancellationToken);
        }
        catch
        {
            EndCancellingShared(method);
            throw;
        }
        if (_phase != Phase.Active)
        {
            turn.Dispose();
            EndCancellingShared(method);
            if (_activationFailure is not null)
                throw new GrainException("ACTIVATION_FAILED", $"Grain {Id} failed to activate: {_activationFailure.Message}");
            throw new ActivationGoneException(Id);
        }
        var callToken = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, sharedToken, _lifetime.Token);
        return (turn, callToken);
    }

    private void EndCancellingShared(GrainMethod method)
    {
        if (method.CancelsShared)
        {
            lock (_gate)
                _cancellingShared--;
        }
    }

    public bool CancellingSharedCalls
    {
        get
        {
            lock (_gate)
                return _cancellingShared > 0;
        }
    }

    private void Exit(TurnGate.Turn turn, GrainMethod method)
    {
        EndCancellingShared(method);
        Volatile.Write(ref _lastUsed, Environment.TickCount64);
        turn.Dispose();
        if (_deactivateRequested)
            _ = DeactivateAsync(DeactivationReason.Requested);
    }

    /// <summary>Deactivates gracefully: waits for running calls, runs OnDeactivateAsync, gives up the directory entry.</summary>
    public async Task DeactivateAsync(DeactivationReason reason)
    {
        if (_phase != Phase.Active)
            return;
        using var turn = await _gate.EnterAsync(shared: false, CancellationToken.None);
        if (_phase != Phase.Active)
            return;
        _phase = Phase.Deactivating;
        try
        {
            using var limit = new CancellationTokenSource(_host.DeactivationTimeout);
            await _grain!.OnDeactivateAsync(reason, limit.Token);
        }
        catch (Exception e)
        {
            LogDeactivationFailed(_host.Logger, e, Id.ToString());
        }
        finally
        {
            _phase = Phase.Gone;
            StopTimers();
            _lifetime.Cancel();
            await _host.RetireAsync(this, releaseDirectoryEntry: true);
        }
    }

    /// <summary>
    /// Drops the activation without hooks or database writes: the silo was fenced (declared dead) or
    /// is being killed. Running calls are cancelled; waiting ones are retried elsewhere.
    /// </summary>
    public void Abandon()
    {
        _phase = Phase.Gone;
        StopTimers();
        _lifetime.Cancel();
        lock (_gate)
            _sharedCalls.Cancel();
    }

    public Task<IPersistentState<T>> GetStateAsync<T>(string name, CancellationToken cancellationToken) where T : new() =>
        _host.States.ReadAsync<T>(Id, name, cancellationToken);

    public IDisposable RegisterTimer(Func<CancellationToken, Task> callback, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ActivationTimer(this, callback, dueTime, period, _lifetime.Token);
        lock (_timers)
            _timers.Add(timer);
        timer.Start();
        return timer;
    }

    /// <summary>A timer tick: an exclusive turn that does not count as use.</summary>
    internal async Task RunTimerTurnAsync(Func<CancellationToken, Task> callback, CancellationToken cancellationToken)
    {
        using var turn = await _gate.EnterAsync(shared: false, cancellationToken);
        if (_phase != Phase.Active)
            return;
        try
        {
            CallChain.Current = [Id.ToString()];
            await callback(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogTimerFailed(_host.Logger, e, Id.ToString());
        }
    }

    private void StopTimers()
    {
        lock (_timers)
        {
            foreach (var timer in _timers)
                timer.Dispose();
            _timers.Clear();
        }
    }

    public Task SetReminderAsync(string name, TimeSpan dueIn, TimeSpan? period, CancellationToken cancellationToken) =>
        _host.Reminders.SetAsync(Id, name, dueIn, period, cancellationToken);

    public Task RemoveReminderAsync(string name, CancellationToken cancellationToken) =>
        _host.Reminders.RemoveAsync(Id, name, cancellationToken);

    public void DeactivateOnIdle() => _deactivateRequested = true;

    [LoggerMessage(Level = LogLevel.Error, Message = "Grain {Grain} failed to activate")]
    private static partial void LogActivationFailed(ILogger logger, Exception exception, string grain);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Grain {Grain} failed while deactivating; its activation is gone anyway")]
    private static partial void LogDeactivationFailed(ILogger logger, Exception exception, string grain);

    [LoggerMessage(Level = LogLevel.Error, Message = "A timer of grain {Grain} failed; the timer keeps running")]
    private static partial void LogTimerFailed(ILogger logger, Exception exception, string grain);
}

/// <summary>The activation a call reached has gone; the dispatcher routes the call again.</summary>
internal sealed class ActivationGoneException(GrainId id) : Exception($"The activation of {id} has gone.");
