namespace Wrenn.Silo.Runtime.Activations;

/// <summary>
/// The turn discipline of one activation: a first-in, first-out reader/writer gate. Exclusive turns
/// run alone; shared turns run alongside each other but never alongside an exclusive one. A shared
/// turn that arrives after a waiting exclusive one waits behind it, so exclusive calls cannot starve.
/// </summary>
internal sealed class TurnGate
{
    private readonly LinkedList<Waiter> _queue = [];
    private int _runningShared;
    private bool _runningExclusive;

    /// <summary>Turns running or waiting; the idle collector leaves busy activations alone.</summary>
    public int Busy
    {
        get
        {
            lock (_queue)
                return _queue.Count + _runningShared + (_runningExclusive ? 1 : 0);
        }
    }

    public ValueTask<Turn> EnterAsync(bool shared, CancellationToken cancellationToken)
    {
        Waiter waiter;
        lock (_queue)
        {
            if (_queue.Count == 0 && CanRun(shared))
            {
                Start(shared);
                return ValueTask.FromResult(new Turn(this, shared));
            }
            waiter = new Waiter(shared);
            waiter.Node = _queue.AddLast(waiter);
        }
        if (cancellationToken.CanBeCanceled)
            waiter.Registration = cancellationToken.Register(() => Abandon(waiter, cancellationToken));
        return new ValueTask<Turn>(waiter.Granted.Task);
    }

    private bool CanRun(bool shared) => shared ? !_runningExclusive : !_runningExclusive && _runningShared == 0;

    private void Start(bool shared)
    {
        if (shared)
            _runningShared++;
        else
            _runningExclusive = true;
    }

    private void Abandon(Waiter waiter, CancellationToken cancellationToken)
    {
        lock (_queue)
        {
            if (waiter.Node?.List is null)
                return; // already granted
            _queue.Remove(waiter.Node);
            Pump();
        }
        waiter.Granted.TrySetCanceled(cancellationToken);
    }

    private void Exit(bool shared)
    {
        lock (_queue)
        {
            if (shared)
                _runningShared--;
            else
                _runningExclusive = false;
            Pump();
        }
    }

    /// <summary>Grants waiting turns from the head of the queue while they may run. Called under the lock.</summary>
    private void Pump()
    {
        while (_queue.First is { } head && CanRun(head.Value.Shared))
        {
            var waiter = head.Value;
            _queue.RemoveFirst();
            Start(waiter.Shared);
            waiter.Registration.Dispose();
            // Continuations run elsewhere (RunContinuationsAsynchronously), never under this lock.
            waiter.Granted.TrySetResult(new Turn(this, waiter.Shared));
        }
    }

    private sealed class Waiter(bool shared)
    {
        public bool Shared { get; } = shared;

        public LinkedListNode<Waiter>? Node { get; set; }

        public CancellationTokenRegistration Registration { get; set; }

        public TaskCompletionSource<Turn> Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>A granted turn; disposing it lets the next ones in.</summary>
    public readonly struct Turn(TurnGate gate, bool shared) : IDisposable
    {
        public bool Shared => shared;

        public void Dispose() => gate.Exit(shared);
    }
}
