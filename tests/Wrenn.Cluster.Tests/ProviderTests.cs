using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Runtime;
using Orleans.Storage;
using Wrenn.Cluster.Tests.Grains;

namespace Wrenn.Cluster.Tests;

/// <summary>Two silos on a database of their own, shared by the tests of one class.</summary>
public sealed class TwoSilos : IAsyncLifetime
{
    public WrennTestCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await WrennTestCluster.StartAsync("providers", silos: 2);

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

/// <summary>Orleans' ADO.NET providers on Wrenn's own tables and queries (Wrenn.Silo/Cluster/Migrations), driven by Orleans itself.</summary>
public sealed class ProviderTests(TwoSilos two) : IClassFixture<TwoSilos>
{
    private WrennTestCluster Cluster => two.Cluster;

    [Fact]
    public async Task Silos_join_through_the_membership_table_as_active_rows_with_their_names()
    {
        await using var command = Cluster.Database.Main.CreateCommand("SELECT silo_name, status FROM orleans_membership WHERE status = 3 ORDER BY silo_name");
        var rows = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
                rows.Add(reader.GetString(0));
        }
        Assert.Equal(Cluster.Silos.Select(s => s.Name).Order(), rows);
        Assert.All(Cluster.View(0).Values, m => Assert.Equal(SiloStatus.Active, m.Status));
    }

    [Fact]
    public async Task Grain_state_outlives_its_activation_and_a_write_against_a_stale_etag_is_refused()
    {
        var probe = Cluster.Grains(0).GetGrain<IProbeGrain>("stateful");
        for (var i = 0; i < 3; i++)
            await probe.IncrementAsync();
        await Cluster.Cluster.DeactivateAsync(probe);
        Assert.Equal(4, await probe.IncrementAsync());

        // The provider itself, with a state read earlier: the etag moved on, the write must fail.
        var storage = Cluster.Silos[1].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(Wrenn.Silo.Cluster.StorageNames.Wrenn)!;
        var stale = new GrainState<Counter>(new Counter());
        var grainId = GrainId.Create("test-stale", "one");
        await storage.ReadStateAsync("counter", grainId, stale);
        stale.State = new Counter { Value = 1 };
        await storage.WriteStateAsync("counter", grainId, stale); // first write: inserts
        var current = new GrainState<Counter>(new Counter());
        await storage.ReadStateAsync("counter", grainId, current);
        current.State = new Counter { Value = 2 };
        await storage.WriteStateAsync("counter", grainId, current);
        stale.State = new Counter { Value = 99 };
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("counter", grainId, stale));
        var read = new GrainState<Counter>(new Counter());
        await storage.ReadStateAsync("counter", grainId, read);
        Assert.Equal(2, read.State!.Value);

        await storage.ClearStateAsync("counter", grainId, read);
        var cleared = new GrainState<Counter>(new Counter());
        await storage.ReadStateAsync("counter", grainId, cleared);
        Assert.False(cleared.RecordExists);
    }

    [Fact]
    public async Task A_reminder_is_stored_fires_and_is_gone_once_unregistered()
    {
        var key = $"remind-{Guid.NewGuid():N}";
        await Cluster.Grains(0).GetGrain<IProbeGrain>(key).RemindAsync(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await ReminderRowsAsync(key));
        Assert.True(await WrennTestCluster.EventuallyAsync(() => Task.FromResult(ProbeGrain.Ticks.Any(t => t.Key == key)), TimeSpan.FromSeconds(60)),
            "the reminder never fired");
        Assert.True(await WrennTestCluster.EventuallyAsync(async () => await ReminderRowsAsync(key) == 0, TimeSpan.FromSeconds(10)),
            "the unregistered reminder stayed in orleans_reminders");
    }

    [Fact]
    public async Task The_defunct_silo_clean_up_removes_old_rows_of_silos_that_are_not_active_and_keeps_the_rest()
    {
        var clusterId = Cluster.Cluster.Options.ClusterId;
        await using (var insert = Cluster.Database.Main.CreateCommand("""
            INSERT INTO orleans_membership (cluster_id, address, port, generation, silo_name, host_name, status, started_at, alive_at)
            VALUES ($1, '10.9.9.9', 1, 1, 'long-dead', 'h', 6, now() - interval '3 days', now() - interval '3 days'),
                   ($1, '10.9.9.9', 2, 1, 'recently-dead', 'h', 6, now() - interval '1 hour', now() - interval '1 hour')
            """))
        {
            insert.Parameters.Add(new() { Value = clusterId });
            await insert.ExecuteNonQueryAsync();
        }
        var table = Cluster.Silos[0].ServiceProvider.GetRequiredService<IMembershipTable>();
        await table.CleanupDefunctSiloEntriesAsync(DateTimeOffset.UtcNow - TimeSpan.FromDays(1));

        await using var names = Cluster.Database.Main.CreateCommand("SELECT silo_name FROM orleans_membership WHERE cluster_id = $1 ORDER BY silo_name");
        names.Parameters.Add(new() { Value = clusterId });
        var left = new List<string>();
        await using (var reader = await names.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
                left.Add(reader.GetString(0));
        }
        Assert.DoesNotContain("long-dead", left);
        Assert.Contains("recently-dead", left);
        Assert.True(Cluster.Silos.All(s => left.Contains(s.Name)), $"active silos must stay: {string.Join(", ", left)}");
    }

    [Fact]
    public async Task Ten_thousand_items_stream_across_silos_in_order()
    {
        // The probe grain is placed prefer-local: activated from silo 1, it lives there; read through silo 0.
        var key = $"stream-{Guid.NewGuid():N}";
        var where = await Cluster.Grains(1).GetGrain<IProbeGrain>(key).WhereAsync();
        var received = new List<int>();
        await foreach (var item in Cluster.Grains(0).GetGrain<IProbeGrain>(key).CountAsync(10_000))
            received.Add(item);
        Assert.Equal(Enumerable.Range(0, 10_000), received);
        Assert.Equal(Cluster.Name(1), where.Silo);
    }

    private async Task<long> ReminderRowsAsync(string key)
    {
        await using var command = Cluster.Database.Main.CreateCommand("SELECT count(*) FROM orleans_reminders WHERE grain_id LIKE '%' || $1");
        command.Parameters.Add(new() { Value = key });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
