using System.Reflection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Wrenn.Grains.Runtime;
using Wrenn.Silo.Persistence.Migrations;
using Wrenn.Silo.Runtime.Activations;
using Wrenn.Silo.Runtime.Calls;
using Wrenn.Silo.Runtime.Cluster;
using Wrenn.Silo.Runtime.Directory;
using Wrenn.Silo.Runtime.Grains;
using Wrenn.Silo.Runtime.State;
using Wrenn.Silo.Runtime.Timers;
using Wrenn.Silo.Runtime.Transport;

namespace Wrenn.Silo.Runtime;

/// <summary>
/// A running silo: it hosts activations of the registered grain kinds, serves calls from other
/// silos on its internal endpoint, and takes part in membership. Start it with
/// <see cref="StartAsync"/>; <see cref="DisposeAsync"/> stops it gracefully.
/// </summary>
public sealed partial class GrainSilo : IAsyncDisposable
{
    /// <summary>The runtime's own schema, applied on start.</summary>
    public static IReadOnlyList<Migration> Migrations { get; } = Migration.FromEmbeddedResources(typeof(GrainSilo).Assembly, "grain-runtime");

    private readonly SiloOptions _options;
    private readonly NpgsqlDataSource _dataSource;
    private readonly NpgsqlDataSource _membershipSource;
    private readonly TransportServer _server;
    private readonly TransportClient _client;
    private readonly MembershipService _membership;
    private readonly ActivationTable _activations = new();
    private readonly GrainDirectory _directory;
    private readonly ReminderService _reminders;
    private readonly CancellationTokenSource _stop = new();
    private readonly ILogger _logger;
    private Task? _idleCollector;
    private int _stopped;

    private GrainSilo(SiloOptions options, GrainRegistry registry, IServiceProvider services, ILoggerFactory loggers,
        NpgsqlDataSource dataSource, NpgsqlDataSource membershipSource, TransportServer server)
    {
        _options = options;
        _dataSource = dataSource;
        _membershipSource = membershipSource;
        _server = server;
        _logger = loggers.CreateLogger<GrainSilo>();
        var runtime = options.Runtime;
        _client = new TransportClient(runtime.Json);
        _directory = new GrainDirectory(dataSource);
        var endpoint = new UriBuilder(server.Address) { Host = options.AdvertisedHost ?? server.Address.Host }.Uri;
        _membership = new MembershipService(new MembershipTable(_membershipSource), options.Membership, options.Name, endpoint,
            loggers.CreateLogger<MembershipService>(), OnFencedAsync);

        Dispatcher? dispatcher = null;
        var factory = new GrainFactory(registry, () => dispatcher!);
        Grains = factory;
        var reminderStore = new ReminderStore(dataSource);
        var host = new ActivationHost(options.Name, factory, services, new StateStore(dataSource, runtime.Json), reminderStore,
            runtime.DeactivationTimeout, loggers.CreateLogger<Activation>(), RetireAsync);
        dispatcher = new Dispatcher(_directory, _membership, _activations, _client, Stats, runtime,
            (grain, kind) => new Activation(host, kind, grain, _membership.Incarnation));
        server.Attach(dispatcher, registry);
        _reminders = new ReminderService(reminderStore, () => _membership.Incarnation, () => _membership.CanServe,
            grain => (IRemindable)factory.Get(grain), runtime.ReminderPollInterval, loggers.CreateLogger<ReminderService>());
    }

    public static async Task<GrainSilo> StartAsync(SiloOptions options, GrainRegistry registry, IServiceProvider services, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var dataSource = NpgsqlDataSource.Create(options.ConnectionString);
        // Heartbeats and the cluster view get connections of their own: a burst of calls that fills the
        // main pool must not delay the heartbeat past the lease and make this silo stop serving.
        var membershipSource = new NpgsqlDataSourceBuilder(options.ConnectionString)
        {
            ConnectionStringBuilder = { MaxPoolSize = 2, ApplicationName = $"wrenn-membership-{options.Name}" },
        }.Build();
        TransportServer? server = null;
        try
        {
            await new SchemaMigrator(dataSource, loggers.CreateLogger<SchemaMigrator>()).ApplyAsync(Migrations, cancellationToken);
            server = await TransportServer.StartAsync(options.ListenAddress, options.Port, options.Runtime.Json, loggers, cancellationToken);
            var silo = new GrainSilo(options, registry, services, loggers, dataSource, membershipSource, server);
            await silo._membership.JoinAsync(cancellationToken);
            silo._reminders.Start();
            silo._idleCollector = Task.Run(silo.CollectIdleAsync);
            return silo;
        }
        catch
        {
            if (server is not null)
                await server.DisposeAsync();
            await dataSource.DisposeAsync();
            await membershipSource.DisposeAsync();
            throw;
        }
    }

    public string Name => _options.Name;

    /// <summary>This run of the silo; a restart or a rejoin after being declared dead gets a new one.</summary>
    public long Incarnation => _membership.Incarnation;

    public Uri Endpoint => _server.Address;

    public IGrainFactory Grains { get; }

    public RuntimeStats Stats { get; } = new();

    public int ActivationCount => _activations.Count;

    /// <summary>The cluster as this silo last read it.</summary>
    public IReadOnlyList<SiloInfo> Cluster => _membership.View.Silos;

    private async Task RetireAsync(Activation activation, bool releaseDirectoryEntry)
    {
        _activations.Remove(activation);
        if (releaseDirectoryEntry)
        {
            try
            {
                await _directory.UnregisterAsync(activation.Id, activation.Incarnation, CancellationToken.None);
            }
            catch (Exception e)
            {
                // The entry stays until this incarnation ends; calls meanwhile re-activate here.
                LogUnregisterFailed(_logger, e, activation.Id.ToString());
            }
        }
    }

    private Task OnFencedAsync()
    {
        foreach (var activation in _activations.Snapshot())
        {
            activation.Abandon();
            _activations.Remove(activation);
        }
        _directory.ForgetAllBut(new HashSet<long>());
        return Task.CompletedTask;
    }

    private async Task CollectIdleAsync()
    {
        var idle = _options.Runtime.IdleTimeout;
        var period = TimeSpan.FromMilliseconds(Math.Clamp(idle.TotalMilliseconds / 4, 50, 30_000));
        using var ticks = new PeriodicTimer(period);
        try
        {
            while (await ticks.WaitForNextTickAsync(_stop.Token))
            {
                foreach (var activation in _activations.Snapshot())
                {
                    if (activation.IsIdle(idle))
                        _ = activation.DeactivateAsync(DeactivationReason.Idle);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Deactivates every activation here (running their hooks); for tests and planned restarts.</summary>
    public Task DeactivateAllAsync() =>
        Task.WhenAll(_activations.Snapshot().Select(a => a.DeactivateAsync(DeactivationReason.SiloStopping)));

    /// <summary>Test hook: the silo stops heartbeating (a long stall or a lost database link) but keeps running.</summary>
    internal Task PauseHeartbeatsAsync() => _membership.PauseHeartbeatsAsync();

    internal void ResumeHeartbeats() => _membership.ResumeHeartbeats();

    /// <summary>Stops without goodbye, as a crash would: no hooks, no directory or membership writes.</summary>
    public async Task KillAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
            return;
        _stop.Cancel();
        await _membership.DisposeAsync();
        await _reminders.DisposeAsync();
        await _server.DisposeAsync();
        foreach (var activation in _activations.Snapshot())
            activation.Abandon();
        _client.Dispose();
        await _dataSource.DisposeAsync();
        await _membershipSource.DisposeAsync();
    }

    /// <summary>Graceful stop: deactivate everything (hooks run, directory entries released), leave the cluster, close.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
            return;
        LogStopping(_logger, Name, _activations.Count);
        await _reminders.DisposeAsync();
        await DeactivateAllAsync();
        _stop.Cancel();
        await _membership.DisposeAsync();
        try
        {
            await _membership.LeaveAsync(CancellationToken.None);
        }
        catch (Exception e)
        {
            LogLeaveFailed(_logger, e, Name);
        }
        await _server.DisposeAsync();
        _client.Dispose();
        await _dataSource.DisposeAsync();
        await _membershipSource.DisposeAsync();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not release the directory entry of {Grain}")]
    private static partial void LogUnregisterFailed(ILogger logger, Exception exception, string grain);

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Name} stopping: deactivating {Count} activations")]
    private static partial void LogStopping(ILogger logger, string name, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Name} could not record its leaving; others will declare it dead after the failure-detection time")]
    private static partial void LogLeaveFailed(ILogger logger, Exception exception, string name);
}
