using System.Collections.Concurrent;

namespace Wrenn.Silo.Sandboxes;

/// <summary>
/// What users are doing with this host's sandboxes, for autoPause: every call that needs a VM (an
/// exec, a file transfer, a process call, an open subscription, a forwarded connection) holds a
/// lease for as long as it is open. A sandbox is idle only while none is open and none ended within
/// its idle time. The platform's own calls (health, metrics, clock) take none. One per silo: the
/// sandbox grain and port forwarding (which reaches the guest without the grain) share it, both on
/// the sandbox's host.
/// </summary>
public sealed class SandboxActivity
{
    private readonly ConcurrentDictionary<string, Counter> _sandboxes = new();

    /// <summary>Opens a lease; disposing it (once) closes it.</summary>
    public IDisposable Open(string sandboxId)
    {
        var counter = _sandboxes.GetOrAdd(sandboxId, _ => new Counter());
        counter.Open();
        return new Lease(counter);
    }

    /// <summary>How many leases are open, and when one last opened or closed (null: never, since this silo started).</summary>
    public (int Open, long? LastMs) Of(string sandboxId) =>
        _sandboxes.TryGetValue(sandboxId, out var counter) ? counter.Read() : (0, null);

    /// <summary>The sandbox ended: its counter goes (a lease still open keeps its own reference).</summary>
    public void Forget(string sandboxId) => _sandboxes.TryRemove(sandboxId, out _);

    private sealed class Counter
    {
        private readonly object _lock = new();
        private int _open;
        private long _lastMs;

        public void Open()
        {
            lock (_lock)
            {
                _open++;
                _lastMs = Environment.TickCount64;
            }
        }

        public void Close()
        {
            lock (_lock)
            {
                _open--;
                _lastMs = Environment.TickCount64;
            }
        }

        public (int, long?) Read()
        {
            lock (_lock)
                return (_open, _lastMs);
        }
    }

    private sealed class Lease(Counter counter) : IDisposable
    {
        private int _closed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0)
                counter.Close();
        }
    }
}
