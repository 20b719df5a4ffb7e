using System.Diagnostics;
using System.Runtime.CompilerServices;
using Orleans.Concurrency;
using Wrenn.Silo.Grains.Turns;

namespace Wrenn.Cluster.Tests.Grains;

/// <summary>When a turn ran (ticks of one stopwatch), and whether it was cancelled.</summary>
[GenerateSerializer]
[Alias("test.TurnSpan")]
public sealed record TurnSpan([Id(0)] string Name, [Id(1)] long Start, [Id(2)] long End, [Id(3)] bool Cancelled);

/// <summary>A grain run the way the sandbox grain is: reentrant, its rules kept by a <see cref="TurnGate"/>.</summary>
[Alias("test.turns")]
public interface ITurnProbeGrain : IGrainWithStringKey
{
    [Alias("shared")]
    Task<TurnSpan> SharedAsync(string name, int holdMs);

    /// <summary>How many shared turns are being held now (the grain is reentrant, so this never waits).</summary>
    [Alias("shared-held")]
    Task<int> SharedHeldAsync();

    /// <summary>How many turns wait in the gate's queue now.</summary>
    [Alias("waiting")]
    Task<int> WaitingAsync();

    /// <summary>Whether an exclusive turn runs now.</summary>
    [Alias("exclusive-held")]
    Task<bool> ExclusiveHeldAsync();

    [Alias("exclusive")]
    Task<TurnSpan> ExclusiveAsync(string name, int holdMs);

    [Alias("exclusive-cancelling")]
    Task<TurnSpan> ExclusiveCancellingSharedAsync(string name);

    /// <summary>Holds one shared turn for the whole stream, across every MoveNext.</summary>
    [Alias("stream")]
    IAsyncEnumerable<TurnSpan> StreamAsync(string name, int items, int holdMsEach);
}

[Reentrant]
public sealed class TurnProbeGrain : Grain, ITurnProbeGrain
{
    private static readonly Stopwatch Clock = Stopwatch.StartNew();
    private readonly TurnGate _turns = new();
    private int _sharedHeld;

    public async Task<TurnSpan> SharedAsync(string name, int holdMs)
    {
        using var turn = await _turns.EnterSharedAsync(CancellationToken.None);
        Interlocked.Increment(ref _sharedHeld);
        try
        {
            return await HoldAsync(name, holdMs, turn.Token);
        }
        finally
        {
            Interlocked.Decrement(ref _sharedHeld);
        }
    }

    public Task<int> WaitingAsync() => Task.FromResult(_turns.Snapshot().Waiting);

    public Task<bool> ExclusiveHeldAsync() => Task.FromResult(_turns.Snapshot().Exclusive);

    public Task<int> SharedHeldAsync() => Task.FromResult(Volatile.Read(ref _sharedHeld));

    public async Task<TurnSpan> ExclusiveAsync(string name, int holdMs)
    {
        using var turn = await _turns.EnterExclusiveAsync();
        return await HoldAsync(name, holdMs, turn.Token);
    }

    public async Task<TurnSpan> ExclusiveCancellingSharedAsync(string name)
    {
        using var turn = await _turns.EnterExclusiveCancellingSharedAsync();
        return await HoldAsync(name, 0, turn.Token);
    }

    public async IAsyncEnumerable<TurnSpan> StreamAsync(string name, int items, int holdMsEach)
    {
        using var turn = await _turns.EnterSharedAsync(CancellationToken.None);
        for (var i = 0; i < items; i++)
            yield return await HoldAsync($"{name}#{i}", holdMsEach, turn.Token);
    }

    private static async Task<TurnSpan> HoldAsync(string name, int holdMs, CancellationToken token)
    {
        var start = Clock.ElapsedTicks;
        var cancelled = false;
        try
        {
            await Task.Delay(holdMs, token);
        }
        catch (OperationCanceledException)
        {
            cancelled = true;
        }
        return new TurnSpan(name, start, Clock.ElapsedTicks, cancelled);
    }
}
