namespace Wrenn.Silo.Grains.Turns;

/// <summary>
/// A grain's own reader/writer gate, first come first served. Exclusive turns (lifecycle
/// transitions) run alone; shared turns (execs, file calls, reads) run together; a shared turn
/// asked for behind a waiting exclusive one waits for it, so transitions are never starved. An
/// exclusive turn may cancel the shared turns running or queued before it (destroy cancels
/// running commands) and then waits for them to end; a cancelled turn still queued runs with its
/// token cancelled rather than failing.
/// </summary>
/// <remarks>
/// Orleans runs the grain reentrant (its calls interleave at every await) and serves
/// <c>IAsyncEnumerable</c> methods outside its own turns, and its <c>[ReadOnly]</c> readers can let
/// a writer in early; this gate is what gives the sandbox grain its rules, whatever the engine does.
/// </remarks>
public sealed class TurnGate
{
    private readonly object _lock = new();
    private readonly LinkedList<Waiter> _queue = new();
    private readonly HashSet<Turn> _sharedRunning = [];
    private Turn? _exclusiveRunning;

    /// <summary>A turn alongside other shared turns; its token ends when the caller cancels or an exclusive turn cancels it.</summary>
    public Task<Turn> EnterSharedAsync(CancellationToken cancellationToken) => EnterAsync(exclusive: false, cancelShared: false, cancellationToken);

    /// <summary>A turn alone: waits for every turn before it.</summary>
    public Task<Turn> EnterExclusiveAsync(CancellationToken cancellationToken = default) => EnterAsync(exclusive: true, cancelShared: false, cancellationToken);

    /// <summary>A turn alone that first cancels the shared turns running or queued before it, then waits for them to end.</summary>
    public Task<Turn> EnterExclusiveCancellingSharedAsync(CancellationToken cancellationToken = default) => EnterAsync(exclusive: true, cancelShared: true, cancellationToken);

    /// <summary>How many turns run now (for tests and diagnostics).</summary>
    public (int Shared, bool Exclusive, int Waiting) Snapshot()
    {
        lock (_lock)
            return (_sharedRunning.Count, _exclusiveRunning is not null, _queue.Count);
    }

    private Task<Turn> EnterAsync(bool exclusive, bool cancelShared, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var turn = new Turn(this, exclusive, cancellationToken);
        List<Turn>? toCancel = null;
        Waiter waiter;
        lock (_lock)
        {
            if (_queue.Count == 0 && CanRun(exclusive))
            {
                Start(turn);
                return Task.FromResult(turn);
            }
            if (cancelShared)
            {
                toCancel = [.. _sharedRunning];
                toCancel.AddRange(_queue.Where(w => !w.Turn.Exclusive).Select(w => w.Turn));
            }
            waiter = new Waiter(turn);
            waiter.Node = _queue.AddLast(waiter);
        }
        if (toCancel is not null)
        {
            foreach (var shared in toCancel)
                shared.CancelByGate();
        }
        // Only its caller giving up takes a waiter out of the queue. One an exclusive turn cancels
        // while it waits keeps its place and runs with its token cancelled: work that heeds the token
        // ends at once, and a read (which ignores it) still answers instead of failing.
        waiter.Registration = turn.CallerToken.Register(() => Abandon(waiter));
        return waiter.Entered.Task;
    }

    private bool CanRun(bool exclusive) => exclusive ? _exclusiveRunning is null && _sharedRunning.Count == 0 : _exclusiveRunning is null;

    private void Start(Turn turn)
    {
        if (turn.Exclusive)
            _exclusiveRunning = turn;
        else
            _sharedRunning.Add(turn);
    }

    /// <summary>A waiter whose caller gave up leaves the queue (and may let the ones behind it in).</summary>
    private void Abandon(Waiter waiter)
    {
        List<Waiter> granted;
        lock (_lock)
        {
            if (waiter.Node?.List is null)
                return;
            _queue.Remove(waiter.Node);
            granted = GrantFromQueue();
        }
        waiter.Entered.TrySetCanceled(waiter.Turn.CallerToken);
        waiter.Registration.Dispose();
        Complete(granted);
    }

    internal void Release(Turn turn)
    {
        List<Waiter> granted;
        lock (_lock)
        {
            if (turn.Exclusive)
            {
                if (_exclusiveRunning != turn)
                    return;
                _exclusiveRunning = null;
            }
            else if (!_sharedRunning.Remove(turn))
            {
                return;
            }
            granted = GrantFromQueue();
        }
        Complete(granted);
    }

    /// <summary>Starts the waiters at the head of the queue that may run now (all shared ones in a row, or one exclusive).</summary>
    private List<Waiter> GrantFromQueue()
    {
        var granted = new List<Waiter>();
        while (_queue.First is { } head && CanRun(head.Value.Turn.Exclusive))
        {
            _queue.RemoveFirst();
            Start(head.Value.Turn);
            granted.Add(head.Value);
            if (head.Value.Turn.Exclusive)
                break;
        }
        return granted;
    }

    private static void Complete(List<Waiter> granted)
    {
        foreach (var waiter in granted)
        {
            waiter.Registration.Dispose();
            if (!waiter.Entered.TrySetResult(waiter.Turn))
                waiter.Turn.Dispose();
        }
    }

    private sealed class Waiter(Turn turn)
    {
        public Turn Turn { get; } = turn;
        public TaskCompletionSource<Turn> Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public LinkedListNode<Waiter>? Node { get; set; }
        public CancellationTokenRegistration Registration { get; set; }
    }
}

/// <summary>One turn through a <see cref="TurnGate"/>; disposing it lets the next ones in.</summary>
public sealed class Turn : IDisposable
{
    private readonly TurnGate _gate;
    private readonly CancellationTokenSource _cancellation;

    internal Turn(TurnGate gate, bool exclusive, CancellationToken callerToken)
    {
        _gate = gate;
        Exclusive = exclusive;
        CallerToken = callerToken;
        _cancellation = CancellationTokenSource.CreateLinkedTokenSource(callerToken);
    }

    public bool Exclusive { get; }

    internal CancellationToken CallerToken { get; }

    /// <summary>Ends when the caller cancels, or when an exclusive turn cancels this shared one.</summary>
    public CancellationToken Token => _cancellation.Token;

    /// <summary>True when an exclusive turn (destroy) cancelled this one, not its caller.</summary>
    public bool CancelledByGate { get; private set; }

    internal void CancelByGate()
    {
        CancelledByGate = true;
        Cancel();
    }

    /// <summary>Ends the turn's work early (its token), e.g. when a stream's reader went away.</summary>
    public void Cancel()
    {
        try
        {
            _cancellation.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // It ended meanwhile.
        }
    }

    public void Dispose()
    {
        _gate.Release(this);
        _cancellation.Dispose();
    }
}
