using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Wrenn.Silo.Runtime.Cluster;
using Wrenn.Silo.Runtime.Grains;

namespace Wrenn.Silo.Runtime.Testing;

/// <summary>
/// Several silos in one process against one PostgreSQL, for tests: start N, kill one (no goodbye),
/// stop one gracefully, add or restart one. The silos share one service provider, so a test can
/// register probes that see every silo's grains.
/// </summary>
public sealed class TestCluster : IAsyncDisposable
{
    private readonly string _connectionString;
    private readonly GrainRegistry _registry;
    private readonly IServiceProvider _services;
    private readonly ILoggerFactory _loggers;
    private readonly MembershipOptions _membership;
    private readonly RuntimeOptions _runtime;
    private readonly List<GrainSilo> _silos = [];
    private int _named;

    private TestCluster(string connectionString, GrainRegistry registry, IServiceProvider services, ILoggerFactory loggers, MembershipOptions membership, RuntimeOptions runtime)
    {
        _connectionString = connectionString;
        _registry = registry;
        _services = services;
        _loggers = loggers;
        _membership = membership;
        _runtime = runtime;
    }

    /// <summary>Fast failure detection for tests: a heartbeat every 0.5 s, suspected after 2 s.</summary>
    public static MembershipOptions FastFailureDetection { get; } = new() { HeartbeatInterval = TimeSpan.FromMilliseconds(500), MissedHeartbeats = 4 };

    public static async Task<TestCluster> StartAsync(
        string connectionString,
        int silos,
        Action<GrainRegistry> grains,
        Action<IServiceCollection>? services = null,
        MembershipOptions? membership = null,
        RuntimeOptions? runtime = null,
        ILoggerFactory? loggers = null)
    {
        var registry = new GrainRegistry();
        grains(registry);
        var collection = new ServiceCollection();
        services?.Invoke(collection);
        var cluster = new TestCluster(connectionString, registry, collection.BuildServiceProvider(), loggers ?? NullLoggerFactory.Instance,
            membership ?? FastFailureDetection, runtime ?? new RuntimeOptions());
        try
        {
            for (var i = 0; i < silos; i++)
                await cluster.AddSiloAsync();
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
        return cluster;
    }

    /// <summary>The silos started by this cluster that have not been killed or stopped.</summary>
    public IReadOnlyList<GrainSilo> Silos => _silos;

    public IServiceProvider Services => _services;

    public GrainSilo this[int index] => _silos[index];

    /// <summary>Starts a silo; with the name of a stopped or killed one, it restarts that silo as a new incarnation.</summary>
    public async Task<GrainSilo> AddSiloAsync(string? name = null)
    {
        name ??= $"silo-{Interlocked.Increment(ref _named)}";
        var silo = await GrainSilo.StartAsync(
            new SiloOptions { Name = name, ConnectionString = _connectionString, Membership = _membership, Runtime = _runtime },
            _registry, _services, _loggers, CancellationToken.None);
        _silos.Add(silo);
        return silo;
    }

    /// <summary>Stops the silo as a crash would: no hooks, no goodbye.</summary>
    public async Task KillAsync(GrainSilo silo)
    {
        _silos.Remove(silo);
        await silo.KillAsync();
    }

    /// <summary>Stops the silo gracefully.</summary>
    public async Task StopAsync(GrainSilo silo)
    {
        _silos.Remove(silo);
        await silo.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var silo in _silos.ToList())
            await silo.DisposeAsync();
        _silos.Clear();
        if (_services is IAsyncDisposable disposable)
            await disposable.DisposeAsync();
    }
}
