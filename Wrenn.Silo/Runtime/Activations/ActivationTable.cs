using Wrenn.Silo.Runtime.Grains;

namespace Wrenn.Silo.Runtime.Activations;

/// <summary>
/// This silo's activations. Creating one is single-flight per grain: concurrent first calls wait for
/// the same registration, so a silo never makes two activations of a grain.
/// </summary>
internal sealed class ActivationTable
{
    private readonly object _lock = new();
    private readonly Dictionary<GrainId, Activation> _live = [];
    private readonly Dictionary<GrainId, Task<Activation>> _creating = [];

    public int Count
    {
        get
        {
            lock (_lock)
                return _live.Count;
        }
    }

    public bool TryGetLive(GrainId grain, out Activation activation)
    {
        lock (_lock)
        {
            if (_live.TryGetValue(grain, out activation!) && !activation.IsGone)
                return true;
        }
        activation = null!;
        return false;
    }

    /// <summary>The live activation, or the one <paramref name="create"/> makes (once, however many callers ask at the same time).</summary>
    public Task<Activation> GetOrCreateAsync(GrainId grain, Func<Task<Activation>> create)
    {
        lock (_lock)
        {
            if (_live.TryGetValue(grain, out var live) && !live.IsGone)
                return Task.FromResult(live);
            if (_creating.TryGetValue(grain, out var pending))
                return pending;
            var creating = CreateAsync(grain, create);
            if (!creating.IsCompleted)
                _creating[grain] = creating;
            return creating;
        }
    }

    private async Task<Activation> CreateAsync(GrainId grain, Func<Task<Activation>> create)
    {
        await Task.Yield(); // leave the lock before running the registration
        try
        {
            var activation = await create();
            lock (_lock)
                _live[grain] = activation;
            activation.Start();
            return activation;
        }
        finally
        {
            lock (_lock)
                _creating.Remove(grain);
        }
    }

    public void Remove(Activation activation)
    {
        lock (_lock)
        {
            if (_live.TryGetValue(activation.Id, out var current) && ReferenceEquals(current, activation))
                _live.Remove(activation.Id);
        }
    }

    public IReadOnlyList<Activation> Snapshot()
    {
        lock (_lock)
            return [.. _live.Values];
    }
}
