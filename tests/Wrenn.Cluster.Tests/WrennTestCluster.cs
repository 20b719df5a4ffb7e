using Microsoft.Extensions.Configuration;
using Wrenn.Silo.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.TestingHost;
using Wrenn.Silo.Cluster;
using Wrenn.Silo.Data;
using Wrenn.Silo.Grains;
using Wrenn.Silo.Persistence.Migrations;
using Wrenn.Testing.Postgres;

namespace Wrenn.Cluster.Tests;

/// <summary>
/// Silos of Wrenn's cluster in this process (Orleans' TestingHost), each configured as the real
/// silo is (<see cref="SiloBuilderExtensions.AddWrennProviders"/>): membership, grain storage and
/// reminders in a database of their own on the test PostgreSQL, the distributed directory,
/// host-affine placement and Wrenn's call filters. Silo names are the TestingHost's
/// (<c>Primary</c>, <c>Secondary_1</c>, …): those are the hosts host-affine grains live on.
/// </summary>
public sealed class WrennTestCluster : IAsyncDisposable
{
    /// <summary>Fast failure detection: a killed silo is declared dead within a few seconds.</summary>
    public static WrennClusterOptions FastDetection => new() { ProbeTimeout = TimeSpan.FromSeconds(1), MissedProbesLimit = 2, TableRefreshTimeout = TimeSpan.FromSeconds(2) };

    private WrennTestCluster(InProcessTestCluster cluster, WrennDatabase database)
    {
        Cluster = cluster;
        Database = database;
    }

    public InProcessTestCluster Cluster { get; }

    public WrennDatabase Database { get; }

    public IReadOnlyList<InProcessSiloHandle> Silos => Cluster.Silos;

    /// <param name="facts">The hosts' facts (VMM overhead, MemAvailable reading); by default none overhead and the machine's own memory.</param>
    public static async Task<WrennTestCluster> StartAsync(string purpose, short silos = 2, WrennClusterOptions? options = null, HostFacts? facts = null)
    {
        var connectionString = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync($"cluster-{purpose}");
        var database = WrennDatabase.Shared(connectionString);
        await new SchemaMigrator(database.Main, NullLogger<SchemaMigrator>.Instance).ApplyAsync([.. WrennSchema.Migrations, .. ClusterSchema.Migrations], CancellationToken.None);
        var clusterOptions = options ?? FastDetection;
        var builder = new InProcessTestClusterBuilder(silos);
        // The TestingHost would put its in-memory membership table in front of Wrenn's (its switch is
        // internal in 10.4.2); the point here is Wrenn's table on PostgreSQL, so it is switched off.
        typeof(InProcessTestClusterOptions).GetProperty("UseTestClusterMembership", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)!
            .SetValue(builder.Options, false);
        // Tests call grains through the silos' own factories; the TestingHost's client would need a gateway list.
        builder.Options.InitializeClientOnDeploy = false;
        builder.Options.ClusterId = $"test-{purpose}";
        builder.Options.ServiceId = $"test-{purpose}";
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddWrennClusterServices(database);
            silo.Services.AddSingleton(Options.Create(new CapacityOptions { Vcpus = 8, MemoryMib = 8192, DiskMib = 100_000 }));
            silo.Services.AddSingleton(facts ?? new HostFacts("/tmp"));
            silo.Services.AddWrennMetricsCore(new ConfigurationBuilder().Build());
            silo.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromSeconds(1));
            silo.AddWrennProviders(clusterOptions);
        });
        var cluster = builder.Build();
        try
        {
            await cluster.DeployAsync();
        }
        catch
        {
            await cluster.DisposeAsync();
            await database.DisposeAsync();
            throw;
        }
        return new WrennTestCluster(cluster, database);
    }

    public IGrainFactory Grains(int silo) => Silos[silo].ServiceProvider.GetRequiredService<IGrainFactory>();

    public string Name(int silo) => Silos[silo].Name;

    /// <summary>What silo <paramref name="observer"/> believes of every member (name → status).</summary>
    public IReadOnlyDictionary<SiloAddress, (string Name, SiloStatus Status)> View(int observer) =>
        Silos[observer].ServiceProvider.GetRequiredService<IClusterMembershipService>().CurrentSnapshot.Members
            .ToDictionary(m => m.Key, m => (m.Value.Name, m.Value.Status));

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        await Database.DisposeAsync();
    }

    /// <summary>Polls until the condition holds or the time is up; the caller asserts on the result.</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
                return true;
            await Task.Delay(200);
        }
        return await condition();
    }
}
