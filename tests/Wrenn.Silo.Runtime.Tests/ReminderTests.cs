using Microsoft.Extensions.DependencyInjection;
using Wrenn.Silo.Runtime.Testing;
using Wrenn.Silo.Runtime.Tests.Grains;
using Wrenn.Testing.Postgres;

namespace Wrenn.Silo.Runtime.Tests;

/// <summary>Timers live with an activation; reminders are durable and survive the cluster.</summary>
public sealed class ReminderTests
{
    [Fact]
    public async Task A_reminder_set_before_the_whole_cluster_stops_fires_after_it_starts_again()
    {
        var database = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("reminder-restart");
        await using (var first = await TestCluster.StartAsync(database, 1, TestGrains.Register, s => s.AddProbe()))
        {
            await first[0].Grains.Get<IRemindedGrain>("sleeper").RemindMeAsync("wake", TimeSpan.FromSeconds(2));
        }
        await Task.Delay(TimeSpan.FromSeconds(2)); // due while no silo runs

        await using var second = await TestCluster.StartAsync(database, 2, TestGrains.Register, s => s.AddProbe());
        var probe = second.Services.GetRequiredService<Probe>();
        Assert.True(await Clusters.EventuallyAsync(() => Task.FromResult(probe.Events.Contains("reminder wake on sleeper")), TimeSpan.FromSeconds(20)),
            "the reminder did not fire after the restart");
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Single(probe.Events, e => e == "reminder wake on sleeper"); // a one-shot reminder fires once
    }

    [Fact]
    public async Task A_timer_ticks_as_turns_of_its_activation_until_disposed()
    {
        await using var cluster = await Clusters.StartAsync("timer", silos: 1);
        await cluster[0].Grains.Get<IRemindedGrain>("ticker").TickAsync(TimeSpan.FromMilliseconds(100), 3);
        var probe = cluster.Probe();

        Assert.True(await Clusters.EventuallyAsync(() => Task.FromResult(probe.Events.Count >= 3), TimeSpan.FromSeconds(10)));
        await Task.Delay(500);
        Assert.Equal(["tick 1", "tick 2", "tick 3"], probe.Events);
    }
}
