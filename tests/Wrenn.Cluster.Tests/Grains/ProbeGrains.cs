using System.Collections.Concurrent;
using Orleans.Runtime;
using Wrenn.Silo.Cluster;

namespace Wrenn.Cluster.Tests.Grains;

/// <summary>Which activation answered, on which silo.</summary>
[GenerateSerializer]
[Alias("test.Where")]
public sealed record Where([Id(0)] Guid Activation, [Id(1)] string Silo);

/// <summary>A plain grain that tells where it runs and keeps a durable counter in Wrenn's grain storage.</summary>
[Alias("test.probe")]
public interface IProbeGrain : IGrainWithStringKey
{
    [Alias("where")]
    Task<Where> WhereAsync();

    [Alias("increment")]
    Task<int> IncrementAsync();

    [Alias("count")]
    IAsyncEnumerable<int> CountAsync(int count);

    [Alias("remind")]
    Task RemindAsync(TimeSpan due);
}

[GenerateSerializer]
[Alias("test.Counter")]
public sealed class Counter
{
    [Id(0)]
    public int Value { get; set; }
}

[Orleans.Placement.PreferLocalPlacement]
public sealed class ProbeGrain([PersistentState("counter", StorageNames.Wrenn)] IPersistentState<Counter> counter, ILocalSiloDetails silo)
    : Grain, IProbeGrain, IRemindable
{
    /// <summary>Live activations by grain key, across every silo of the in-process cluster.</summary>
    public static ConcurrentDictionary<string, ConcurrentDictionary<Guid, string>> Live { get; } = new();

    /// <summary>Reminder ticks by grain key and the silo that served them.</summary>
    public static ConcurrentQueue<(string Key, string Silo)> Ticks { get; } = new();

    private readonly Guid _activation = Guid.NewGuid();

    private string Key => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        Live.GetOrAdd(Key, _ => new())[_activation] = silo.Name;
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (Live.TryGetValue(Key, out var live))
            live.TryRemove(_activation, out _);
        return Task.CompletedTask;
    }

    public Task<Where> WhereAsync() => Task.FromResult(new Where(_activation, silo.Name));

    public async Task<int> IncrementAsync()
    {
        counter.State.Value++;
        await counter.WriteStateAsync();
        return counter.State.Value;
    }

    public async IAsyncEnumerable<int> CountAsync(int count)
    {
        for (var i = 0; i < count; i++)
        {
            if (i % 1000 == 0)
                await Task.Yield();
            yield return i;
        }
    }

    public Task RemindAsync(TimeSpan due) => this.RegisterOrUpdateReminder("tick", due, TimeSpan.FromMinutes(1));

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        Ticks.Enqueue((Key, silo.Name));
        if (await this.GetReminder(reminderName) is { } reminder)
            await this.UnregisterReminder(reminder);
    }
}
