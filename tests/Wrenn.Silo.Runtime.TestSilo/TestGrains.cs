using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Wrenn.Grains.Runtime;
using Wrenn.Silo.Runtime.Grains;
using Wrenn.Silo.Runtime.State;

namespace Wrenn.Silo.Runtime.Tests.Grains;

/// <summary>What the test grains report to the test, shared by every silo of a test cluster.</summary>
public sealed class Probe
{
    private readonly ConcurrentDictionary<string, int> _live = new();
    private int _maxLive;

    public int MaxLiveActivationsOfOneKey => Volatile.Read(ref _maxLive);

    public ConcurrentQueue<string> Events { get; } = new();

    public long Produced;

    public volatile bool ProducerFinished;

    public volatile bool ProducerCleanedUp;

    public void Activated(string key)
    {
        var live = _live.AddOrUpdate(key, 1, (_, n) => n + 1);
        int max;
        do
        {
            max = Volatile.Read(ref _maxLive);
        }
        while (live > max && Interlocked.CompareExchange(ref _maxLive, live, max) != max);
    }

    public void Deactivated(string key) => _live.AddOrUpdate(key, 0, (_, n) => n - 1);

    /// <summary>For a silo that was killed: its activations vanished without deactivation hooks.</summary>
    public void Forget(string key) => _live.TryRemove(key, out _);
}

[GrainKind("counter")]
public interface ICounterGrain : IGrainWithStringKey
{
    Task<int> IncrementAsync();

    Task<int> GetAsync();

    Task<Where> WhereAsync();
}

/// <summary>Counts in memory and writes the count only when deactivated.</summary>
public sealed class CounterGrain(Probe probe) : Grain, ICounterGrain
{
    private IPersistentState<CounterState> _state = null!;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        probe.Activated(Context.Id.Key);
        _state = await Context.GetStateAsync<CounterState>("count", cancellationToken);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await _state.WriteAsync(cancellationToken);
        probe.Deactivated(Context.Id.Key);
    }

    public Task<int> IncrementAsync() => Task.FromResult(++_state.State.Count);

    public Task<int> GetAsync() => Task.FromResult(_state.State.Count);

    public Task<Where> WhereAsync() => Task.FromResult(new Where(Context.SiloName, Context.ActivationId));
}

public sealed record Where(string Silo, Guid Activation);

public sealed class CounterState
{
    public int Count { get; set; }
}

[GrainKind("turns")]
public interface ITurnGrain : IGrainWithStringKey
{
    Task AppendAsync(int value);

    Task<int[]> ListAsync();

    [Shared]
    Task<string> ReadSlowlyAsync(int participants, TimeSpan wait);

    Task<string> WriteAsync();

    [Shared]
    Task<string> WaitForCancellationAsync(CancellationToken cancellationToken);

    [CancelsShared]
    Task<string> DestroyAsync();

    [CallTimeout(0.5)]
    Task HangAsync(CancellationToken cancellationToken);
}

public sealed class TurnGrain : Grain, ITurnGrain
{
    private readonly List<int> _values = [];
    private int _inside;
    private int _sharedInside;
    private int _maxShared;
    private readonly TaskCompletionSource _allReadersIn = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async Task AppendAsync(int value)
    {
        if (Interlocked.Increment(ref _inside) != 1)
            throw new InvalidOperationException("two exclusive turns overlapped");
        await Task.Yield();
        _values.Add(value);
        Interlocked.Decrement(ref _inside);
    }

    public Task<int[]> ListAsync() => Task.FromResult(_values.ToArray());

    public async Task<string> ReadSlowlyAsync(int participants, TimeSpan wait)
    {
        if (Volatile.Read(ref _inside) != 0)
            return "overlapped an exclusive turn";
        var now = Interlocked.Increment(ref _sharedInside);
        InterlockedMax(ref _maxShared, now);
        if (now == participants)
            _allReadersIn.TrySetResult();
        await Task.WhenAny(_allReadersIn.Task, Task.Delay(wait));
        Interlocked.Decrement(ref _sharedInside);
        return $"max shared {Volatile.Read(ref _maxShared)}";
    }

    public Task<string> WriteAsync() =>
        Task.FromResult(Volatile.Read(ref _sharedInside) == 0 ? "alone" : $"overlapped {_sharedInside} shared turns");

    public async Task<string> WaitForCancellationAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _sharedInside);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return "not cancelled";
        }
        catch (OperationCanceledException)
        {
            return "cancelled";
        }
        finally
        {
            Interlocked.Decrement(ref _sharedInside);
        }
    }

    public Task<string> DestroyAsync() =>
        Task.FromResult(Volatile.Read(ref _sharedInside) == 0 ? "destroyed alone" : "destroyed while shared calls ran");

    public Task HangAsync(CancellationToken cancellationToken) => Task.Delay(Timeout.Infinite, cancellationToken);

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        do
        {
            current = Volatile.Read(ref target);
        }
        while (value > current && Interlocked.CompareExchange(ref target, value, current) != current);
    }
}

[GrainKind("cycle")]
public interface ICycleGrain : IGrainWithStringKey
{
    /// <summary>Calls each key of <paramref name="path"/> in turn, each calling the next.</summary>
    Task<string> CallAlongAsync(string[] path);
}

public sealed class CycleGrain : Grain, ICycleGrain
{
    public Task<string> CallAlongAsync(string[] path) =>
        path.Length == 0
            ? Task.FromResult(Context.Id.Key)
            : Context.Grains.Get<ICycleGrain>(path[0]).CallAlongAsync(path[1..]);
}

[GrainKind("stream")]
public interface IStreamGrain : IGrainWithStringKey
{
    IAsyncEnumerable<Chunk> ProduceAsync(int count, int size, CancellationToken cancellationToken);

    Task<string> PingAsync();
}

public sealed record Chunk(int Index, byte[] Data);

public sealed class StreamGrain(Probe probe) : Grain, IStreamGrain
{
    public async IAsyncEnumerable<Chunk> ProduceAsync(int count, int size, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        try
        {
            for (var i = 0; i < count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var data = new byte[size];
                data.AsSpan().Fill((byte)(i % 251));
                Interlocked.Add(ref probe.Produced, size);
                yield return new Chunk(i, data);
                await Task.Yield();
            }
            probe.ProducerFinished = true;
        }
        finally
        {
            probe.ProducerCleanedUp = true;
        }
    }

    public Task<string> PingAsync() => Task.FromResult("pong");
}

[GrainKind("pinned")]
[Placement(PlacementKind.Pinned)]
public interface IPinnedGrain : IGrainWithStringKey
{
    Task<string> WhereAsync();
}

public sealed class PinnedGrain : Grain, IPinnedGrain
{
    public Task<string> WhereAsync() => Task.FromResult(Context.SiloName);
}

[GrainKind("state")]
public interface IStateGrain : IGrainWithStringKey
{
    Task<long?> SetAsync(string value);

    Task<string?> GetAsync();

    /// <summary>Writes from a second, stale copy of the state, as a second activation would.</summary>
    Task WriteStaleCopyAsync(string value);
}

public sealed class StateGrain : Grain, IStateGrain
{
    private IPersistentState<Box> _state = null!;

    public override async Task OnActivateAsync(CancellationToken cancellationToken) =>
        _state = await Context.GetStateAsync<Box>("box", cancellationToken);

    public async Task<long?> SetAsync(string value)
    {
        _state.State.Value = value;
        await _state.WriteAsync(CancellationToken.None);
        return _state.Etag;
    }

    public Task<string?> GetAsync() => Task.FromResult(_state.State.Value);

    public async Task WriteStaleCopyAsync(string value)
    {
        var stale = await Context.GetStateAsync<Box>("box", CancellationToken.None);
        await SetAsync("moves the etag on");
        stale.State.Value = value;
        await stale.WriteAsync(CancellationToken.None);
    }
}

public sealed class Box
{
    public string? Value { get; set; }
}

[GrainKind("reminded")]
public interface IRemindedGrain : IRemindable
{
    Task RemindMeAsync(string name, TimeSpan dueIn);

    Task TickAsync(TimeSpan period, int times);
}

public sealed class RemindedGrain(Probe probe) : Grain, IRemindedGrain
{
    private int _ticks;

    public Task RemindMeAsync(string name, TimeSpan dueIn) => Context.SetReminderAsync(name, dueIn, null, CancellationToken.None);

    public Task ReceiveReminderAsync(string name, CancellationToken cancellationToken)
    {
        probe.Events.Enqueue($"reminder {name} on {Context.Id.Key}");
        return Task.CompletedTask;
    }

    public Task TickAsync(TimeSpan period, int times)
    {
        IDisposable? timer = null;
        timer = Context.RegisterTimer(_ =>
        {
            probe.Events.Enqueue($"tick {++_ticks}");
            if (_ticks == times)
                timer!.Dispose();
            return Task.CompletedTask;
        }, period, period);
        return Task.CompletedTask;
    }
}

public static class TestGrains
{
    public static void Register(GrainRegistry registry) => registry
        .Add<ICounterGrain, CounterGrain>()
        .Add<ITurnGrain, TurnGrain>()
        .Add<ICycleGrain, CycleGrain>()
        .Add<IStreamGrain, StreamGrain>()
        .Add<IPinnedGrain, PinnedGrain>()
        .Add<IStateGrain, StateGrain>()
        .Add<IRemindedGrain, RemindedGrain>();
}
