using Microsoft.Extensions.DependencyInjection;
using Wrenn.Silo.Runtime.Cluster;
using Wrenn.Silo.Runtime.Testing;
using Wrenn.Silo.Runtime.Tests.Grains;
using Wrenn.Testing.Postgres;

namespace Wrenn.Silo.Runtime.Tests;

/// <summary>A test cluster of the test grains on a fresh database of the test process's PostgreSQL.</summary>
internal static class Clusters
{
    public static async Task<TestCluster> StartAsync(string purpose, int silos, MembershipOptions? membership = null, RuntimeOptions? runtime = null)
    {
        var database = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync(purpose);
        return await TestCluster.StartAsync(database, silos, TestGrains.Register, services => services.AddProbe(), membership, runtime);
    }

    public static IServiceCollection AddProbe(this IServiceCollection services) => services.AddSingleton<Probe>();

    public static Probe Probe(this TestCluster cluster) => cluster.Services.GetRequiredService<Probe>();

    /// <summary>Polls until <paramref name="condition"/> holds or <paramref name="within"/> passes; false on time-out.</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
                return true;
            await Task.Delay(100);
        }
        return await condition();
    }
}
